package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

type rawDefinition struct {
	ID      string `yaml:"id"`
	Version int    `yaml:"version"`
	Name    struct {
		VI string `yaml:"vi"`
		EN string `yaml:"en"`
	} `yaml:"name"`
	Effective     string         `yaml:"effective"`
	LegalBasis    []string       `yaml:"legal_basis"`
	Kind          string         `yaml:"kind"`
	SLA           *rawSLA        `yaml:"sla"`
	Clock         string         `yaml:"clock"`
	ApologyLimit  *int           `yaml:"apology_limit"`
	ApologyNotice *rawSLA        `yaml:"apology_notice"`
	LateEntry     *rawSLA        `yaml:"late_entry"`
	Level         string         `yaml:"level"`
	Procedures    []rawProcedure `yaml:"procedures"`
	States        []rawState     `yaml:"states"`
	Actions       []rawAction    `yaml:"actions"`
}

type rawSLA struct {
	WorkingDays  int    `yaml:"working_days"`
	WorkingHours int    `yaml:"working_hours"`
	SameDay      bool   `yaml:"same_day"`
	CutOff       string `yaml:"cut_off"` // "15:00"
}

// rawProcedure is a procedure code, or a mapping with its metadata.
type rawProcedure struct {
	Code     string
	Name     string
	Sector   string
	Level    string
	SLA      *rawSLA
	NoResult bool
}

var procedureKeys = []string{"code", "name", "sector", "level", "sla", "no_result"}

// UnmarshalYAML reads a scalar code or a mapping, refusing unknown keys as
// the strict decoder does elsewhere.
func (p *rawProcedure) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		p.Code = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a procedure is a code or a mapping with %s", n.Line, strings.Join(procedureKeys, ", "))}}
	}
	var errs []string
	for _, k := range yamlfile.UnknownKeys(n, procedureKeys) {
		errs = append(errs, fmt.Sprintf("line %d: unknown field %q", k.Line, k.Value))
	}
	var m struct {
		Code     string  `yaml:"code"`
		Name     string  `yaml:"name"`
		Sector   string  `yaml:"sector"`
		Level    string  `yaml:"level"`
		SLA      *rawSLA `yaml:"sla"`
		NoResult bool    `yaml:"no_result"`
	}
	if err := n.Decode(&m); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return err
		}
		errs = append(errs, te.Errors...)
	}
	*p = rawProcedure(m)
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

type rawState struct {
	Name     string `yaml:"name"`
	Status   int    `yaml:"status"`
	Terminal bool   `yaml:"terminal"`
	Label    string `yaml:"label"`
}

type rawAction struct {
	Name       string     `yaml:"name"`
	From       []string   `yaml:"from"`
	To         string     `yaml:"to"`
	Stay       bool       `yaml:"stay"`
	SetsDue    bool       `yaml:"sets_due"`
	ExtendsDue bool       `yaml:"extends_due"`
	Clock      string     `yaml:"clock"`
	Guards     []rawGuard `yaml:"guards"`
}

type rawGuard struct {
	Attachments []string `yaml:"attachments"`
	Recorded    []string `yaml:"recorded"`
	Fields      []string `yaml:"fields"`
	Result      bool     `yaml:"result"`
	From        []string `yaml:"from"`
}

// sla returns the SLA r describes, or def when r is nil; a cut-off that
// is not a time of day HH:MM is reported through fail.
func (r *rawSLA) sla(def SLA, fail func(msg string)) SLA {
	if r == nil {
		return def
	}
	s := SLA{Days: r.WorkingDays, Hours: r.WorkingHours, SameDay: r.SameDay}
	if r.CutOff != "" {
		t, err := time.Parse("15:04", r.CutOff)
		if err != nil {
			fail(fmt.Sprintf("cut_off %q is not a time of day HH:MM", r.CutOff))
		}
		s.CutOff = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		if s.CutOff == 0 && err == nil {
			fail("cut_off 00:00 would make every receipt due the next working day")
		}
	}
	return s
}

// oneWorkingDay is the default of a definition's apology_notice and
// late_entry.
var oneWorkingDay = SLA{Days: 1}

// Parse decodes one definition file strictly (unknown fields are errors) and
// validates it as a whole graph. On failure the error is a *ValidationError
// listing every problem with the file name and line.
func Parse(file string, data []byte) (*Definition, error) {
	var probs []Problem
	fail := func(line int, msg string) {
		probs = append(probs, Problem{File: file, Line: line, Msg: msg})
	}
	var raw rawDefinition
	root, decoded := yamlfile.Strict(data, &raw)
	for _, p := range decoded {
		fail(p.Line, p.Msg)
	}
	if root == nil {
		return nil, &ValidationError{Problems: probs}
	}
	line := func(p ...any) int { return yamlfile.Line(root, p...) }

	d := &Definition{
		ID:         raw.ID,
		Version:    raw.Version,
		NameVI:     raw.Name.VI,
		NameEN:     raw.Name.EN,
		LegalBasis: raw.LegalBasis,
		Kind:       Kind(raw.Kind),
		Clock:      ClockMode(raw.Clock),
		File:       file,
	}
	at := func(path ...any) func(string) {
		return func(msg string) { fail(line(path...), msg) }
	}
	d.SLA = raw.SLA.sla(SLA{}, at("sla"))
	d.ApologyNotice = raw.ApologyNotice.sla(oneWorkingDay, at("apology_notice"))
	d.LateEntry = raw.LateEntry.sla(oneWorkingDay, at("late_entry"))
	if d.Kind == "" {
		d.Kind = KindDossier
	}
	if d.Clock == "" {
		d.Clock = ClockPause
	}
	d.ApologyLimit = 1
	if raw.ApologyLimit != nil {
		d.ApologyLimit = *raw.ApologyLimit
	}
	if raw.Level != "" {
		l, err := ParseLevel(raw.Level)
		if err != nil {
			fail(line("level"), err.Error())
		}
		d.Level = l
	}
	for i, p := range raw.Procedures {
		d.Procedures = append(d.Procedures, p.Code)
		sla := p.SLA.sla(SLA{}, at("procedures", i))
		var level Level
		if p.Level != "" {
			l, err := ParseLevel(p.Level)
			if err != nil {
				fail(line("procedures", i), fmt.Sprintf("procedure %q: %v", p.Code, err))
			}
			level = l
		}
		d.ProcedureInfo = append(d.ProcedureInfo, Procedure{Code: p.Code, Name: p.Name, Sector: p.Sector, Level: level, SLA: sla, NoResult: p.NoResult})
	}
	if raw.Effective != "" {
		t, err := time.ParseInLocation(time.DateOnly, raw.Effective, Zone)
		if err != nil {
			fail(line("effective"), fmt.Sprintf("effective %q is not a date YYYY-MM-DD", raw.Effective))
		}
		d.Effective = t
	}
	if d.NameVI == "" {
		fail(line("name"), "name.vi (the Vietnamese name) is required")
	}
	for _, s := range raw.States {
		d.States = append(d.States, State{Name: s.Name, Status: Status(s.Status), Terminal: s.Terminal, NameVI: s.Label})
	}
	for _, a := range raw.Actions {
		act := Action{Name: a.Name, From: a.From, To: a.To, Stay: a.Stay, SetsDue: a.SetsDue, ExtendsDue: a.ExtendsDue, Clock: ClockEffect(a.Clock)}
		for _, g := range a.Guards {
			act.Guards = append(act.Guards, Guard(g))
		}
		d.Actions = append(d.Actions, act)
	}
	d.validate(&probs, line)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &ValidationError{Problems: probs}
	}
	return d, nil
}

// Load reads every *.yaml and *.yml file in dir of fsys, parses and validates
// each, and builds a catalog. Every problem of every file is reported at once
// in a *ValidationError.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	var defs []*Definition
	err := eachYAML(fsys, dir, func(name string, data []byte) error {
		d, err := Parse(name, data)
		if err == nil {
			defs = append(defs, d)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	if len(defs) == 0 {
		return nil, &ValidationError{Problems: []Problem{{File: dir, Msg: "no definition files (*.yaml)"}}}
	}
	return NewCatalog(defs...)
}

// eachYAML calls fn with the name and contents of every *.yaml and *.yml
// file of dir, in name order. It gathers the problems of the
// *ValidationError values fn returns into one *ValidationError; any other
// error stops it.
func eachYAML(fsys fs.FS, dir string, fn func(name string, data []byte) error) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	var probs []Problem
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		name := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		var ve *ValidationError
		switch err := fn(name, data); {
		case errors.As(err, &ve):
			probs = append(probs, ve.Problems...)
		case err != nil:
			return err
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}
