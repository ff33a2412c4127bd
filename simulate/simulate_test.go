package simulate_test

import (
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// shipped returns the shipped definitions with the shipped calendar.
var shipped = sync.OnceValues(func() (*workflow.Catalog, error) {
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		return nil, err
	}
	cal, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{})
	if err != nil {
		return nil, err
	}
	return cat.WithCalendar(cal), nil
})

func catalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	cat, err := shipped()
	if err != nil {
		t.Fatalf("load the shipped definitions: %v", err)
	}
	return cat
}

func generate(t testing.TB, cfg simulate.Config) ([]simulate.Item, *simulate.Truth) {
	t.Helper()
	items, truth, err := simulate.Generate(cfg, catalog(t))
	if err != nil {
		t.Fatalf("Generate(%+v) = %v", cfg, err)
	}
	return items, truth
}

func config(seed int64, dossiers int) simulate.Config {
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers = seed, dossiers
	return cfg
}

func TestGenerateDeterministic(t *testing.T) {
	a, ta := generate(t, config(42, 1500))
	b, tb := generate(t, config(42, 1500))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two Generate calls with seed 42 differ")
	}
	if diff := cmp.Diff(ta, tb); diff != "" {
		t.Fatalf("truths of seed 42 differ (-first +second):\n%s", diff)
	}
	c, _ := generate(t, config(43, 1500))
	if reflect.DeepEqual(a, c) {
		t.Fatalf("seeds 42 and 43 give the same items")
	}
	if n := sharedIDs(a, c); n > 0 {
		t.Errorf("seeds 42 and 43 share %d event ids", n)
	}
	// Another size with the same seed: published to the same hoso, no
	// event may be taken for a repeat.
	d, _ := generate(t, config(42, 1000))
	if n := sharedIDs(a, d); n > 0 {
		t.Errorf("seed 42 with 1,500 and 1,000 dossiers share %d event ids", n)
	}
}

func sharedIDs(a, b []simulate.Item) int {
	ids := map[string]bool{}
	for _, it := range a {
		if it.Event != nil {
			ids[it.Event.ID] = true
		}
	}
	n := 0
	for _, it := range b {
		if it.Event != nil && it.MsgID != "" && ids[it.Event.ID] {
			n++
		}
	}
	return n
}

// TestGenerateTimes checks the times: items sorted, strictly increasing
// per dossier, inside the period; items and events inside working hours of
// working days; each event entered (data.entered) when or after it
// happened, and sent when entered.
func TestGenerateTimes(t *testing.T) {
	cfg := config(3, 3000)
	items, _ := generate(t, cfg)
	cal := catalog(t).Calendar()
	h := cal.Config().Hours
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	inHours := func(tm time.Time) bool {
		lt := tm.In(workflow.Zone)
		off := lt.Sub(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, workflow.Zone))
		return cal.IsWorkingDay(tm) && (off >= h.MorningStart && off < h.MorningEnd || off >= h.AfternoonStart && off < h.AfternoonEnd)
	}
	last := map[string]time.Time{}
	lastEvent := map[string]time.Time{}
	for i, it := range items {
		if i > 0 && it.Time.Before(items[i-1].Time) {
			t.Fatalf("item %d at %s is before item %d at %s", i, it.Time, i-1, items[i-1].Time)
		}
		if it.Time.Before(cfg.Start) || !it.Time.Before(end) {
			t.Fatalf("item %d at %s is outside the period %s–%s", i, it.Time, cfg.Start, end)
		}
		if !inHours(it.Time) {
			t.Fatalf("item %d at %s is outside the working hours of a working day", i, it.Time.In(workflow.Zone))
		}
		if prev, ok := last[it.Subject]; ok && !it.Time.After(prev) {
			t.Fatalf("item %d on %s at %s does not follow the dossier's previous item at %s", i, it.Subject, it.Time, prev)
		}
		last[it.Subject] = it.Time
		if ev := it.Event; ev != nil && it.MsgID != "" {
			if !inHours(ev.Time) {
				t.Fatalf("item %d: event time %s is outside the working hours of a working day", i, ev.Time.In(workflow.Zone))
			}
			if prev, ok := lastEvent[it.Subject]; ok && !ev.Time.After(prev) {
				t.Fatalf("item %d on %s: event time %s does not follow the dossier's previous event at %s", i, it.Subject, ev.Time, prev)
			}
			lastEvent[it.Subject] = ev.Time
		}
		switch {
		case it.Event == nil && len(it.Raw) == 0:
			t.Fatalf("item %d has neither an event nor a payload", i)
		case it.Event != nil && it.Raw != nil:
			t.Fatalf("item %d has both an event and a payload", i)
		case it.Event != nil && it.Subject != "hoso.events."+cfg.Source+"."+workflow.DossierToken(it.Event.Dossier):
			t.Fatalf("item %d: subject %s for dossier %s", i, it.Subject, it.Event.Dossier)
		case it.Event != nil && it.MsgID != "" && it.MsgID != it.Event.ID:
			t.Fatalf("item %d: Nats-Msg-Id %s for event %s", i, it.MsgID, it.Event.ID)
		case it.Event != nil && it.Event.Entered.Before(it.Event.Time):
			t.Fatalf("item %d: entered at %s, before its time %s", i, it.Event.Entered, it.Event.Time)
		case it.Event != nil && it.MsgID == "" && !it.Time.After(it.Event.Entered):
			t.Fatalf("item %d: a repeat sent at %s, not after its event was entered at %s", i, it.Time, it.Event.Entered)
		case it.Event != nil && it.MsgID != "" && !it.Time.Equal(it.Event.Entered):
			t.Fatalf("item %d: sent at %s, entered at %s", i, it.Time, it.Event.Entered)
		}
	}
}

// walk applies the items in order through cat.Decide, as the engine does
// (a permanent event-id dedupe before the decision, unreadable messages
// rejected as malformed), and counts the result the way Truth is defined.
func walk(t *testing.T, cat *workflow.Catalog, items []simulate.Item) *simulate.Truth {
	t.Helper()
	got := &simulate.Truth{
		Events:      len(items),
		ByStatus:    map[workflow.Status]int{},
		ByAgency:    map[string]*simulate.Counts{},
		ByProcedure: map[string]*simulate.Counts{},
	}
	counts := func(m map[string]*simulate.Counts, k string) *simulate.Counts {
		if m[k] == nil {
			m[k] = &simulate.Counts{}
		}
		return m[k]
	}
	reject := func(c *simulate.Counts, r workflow.Reason) {
		if c.Rejected == nil {
			c.Rejected = map[workflow.Reason]int{}
		}
		c.Rejected[r]++
	}
	dossiers := map[string]*workflow.Dossier{}
	seen := map[string]bool{}
	for i, it := range items {
		seq := uint64(i + 1)
		env := workflow.Envelope{Seq: seq, Subject: it.Subject, Published: it.Time}
		var d *workflow.Dossier
		if it.Event == nil {
			env.Rejection = workflow.Reject(seq, it.Subject, it.Time, workflow.ReasonMalformed, "unreadable")
		} else {
			ev := *it.Event
			env.Event = &ev
			d = dossiers[ev.Dossier]
			if seen[ev.ID] {
				env.RejectDuplicate()
			}
			seen[ev.ID] = true
		}
		dec := cat.Decide(d, &env)
		if dec.Dossier != nil {
			dossiers[dec.Dossier.Code] = dec.Dossier
		}
		if dec.Entry != nil {
			got.Accepted++
		}
		for _, ir := range dec.Irregularities {
			for _, c := range []*simulate.Counts{&got.Total, counts(got.ByAgency, ir.Agency), counts(got.ByProcedure, env.Event.Procedure)} {
				if c.Irregularities == nil {
					c.Irregularities = map[workflow.IrregularityKind]int{}
				}
				c.Irregularities[ir.Kind]++
			}
		}
		if dec.Outcome.Kind == workflow.OutcomeCorrection {
			got.Corrections++
		}
		if dec.Mismatch != nil {
			got.Mismatches++
		}
		if r := dec.Rejection; r != nil {
			reject(&got.Total, r.Reason)
			if env.Event != nil {
				reject(counts(got.ByAgency, env.Event.Agency), r.Reason)
				reject(counts(got.ByProcedure, env.Event.Procedure), r.Reason)
			}
		}
	}
	for _, d := range dossiers {
		got.Dossiers++
		got.ByStatus[d.Status]++
		for _, c := range []*simulate.Counts{&got.Total, counts(got.ByAgency, d.Agency), counts(got.ByProcedure, d.Procedure)} {
			switch d.Status {
			case workflow.StatusReturned:
				c.Returned++
			case workflow.StatusWithdrawn:
				c.Withdrawn++
			case workflow.StatusRefused:
				c.Refused++
			case workflow.StatusStopped:
				c.Stopped++
			case workflow.StatusSubmitted, workflow.StatusReceived, workflow.StatusProcessing:
				c.InProgress++
			case workflow.StatusSupplement, workflow.StatusPayment:
				c.Paused++
			}
			if !d.ReceivedAt.IsZero() {
				c.Received++
				if d.Online {
					c.ReceivedOnline++
				}
			}
			if !d.ResolvedAt.IsZero() {
				c.Resolved++
				// As hoso's statistics count it: the end of processing
				// against the due date without apologies; a dossier
				// without a due date is on time.
				switch workflow.TimingOf(d.ResolvedAt, d.OriginalDue) {
				case workflow.TimingEarly:
					c.ResolvedEarly++
				case workflow.TimingLate:
					c.ResolvedLate++
					if d.Apologies > 0 {
						c.ResolvedLateApology++
					}
				default:
					c.ResolvedOnTime++
				}
			}
			if d.HasAttachment(workflow.AttachmentInputDigitized) {
				c.WithDigitizedInput++
			}
			if d.HasAttachment(workflow.AttachmentResultElectronic) {
				c.WithResultFile++
			}
		}
	}
	return got
}

// TestGenerateTruth walks the stream through the decision of the real
// definitions and checks it ends exactly where Truth says.
func TestGenerateTruth(t *testing.T) {
	for _, cfg := range []simulate.Config{
		config(1, 4000),
		func() simulate.Config { c := config(2, 2000); c.Faults = 0.5; c.Agencies = 2; return c }(),
		// Across the change of the standard flow on 1 July 2025.
		func() simulate.Config {
			c := config(5, 2000)
			c.Start = time.Date(2025, 5, 15, 9, 30, 0, 0, workflow.Zone)
			c.Days = 120
			c.Agencies = simulate.MaxAgencies
			return c
		}(),
	} {
		cat := catalog(t)
		items, truth := generate(t, cfg)
		got := walk(t, cat, items)
		if diff := cmp.Diff(truth, got, cmpopts.EquateEmpty(), ignoreLookups); diff != "" {
			t.Errorf("seed %d: walking the stream through Decide ends elsewhere than Truth (-truth +walk):\n%s", cfg.Seed, diff)
		}
	}
}

// TestGenerateShares checks the realism knobs land near their targets
// and logs the shares measured.
func TestGenerateShares(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 3000
	}
	cfg := config(11, n)
	items, truth := generate(t, cfg)
	tot := truth.Total
	share := func(a, b int) float64 { return float64(a) / float64(b) }
	var land, feedback, online, submitted int
	firsts := map[string]bool{}
	for _, it := range items {
		ev := it.Event
		if ev == nil || firsts[ev.Dossier] {
			continue
		}
		firsts[ev.Dossier] = true
		switch {
		case strings.HasPrefix(ev.Procedure, "DD."):
			land++
		case ev.Procedure == "PAKN":
			feedback++
		}
		if ev.Action == "submit" {
			online++
		}
		submitted++
	}
	resolvedDue := tot.ResolvedEarly + tot.ResolvedOnTime + tot.ResolvedLate
	rejected := 0
	for _, v := range tot.Rejected {
		rejected += v
	}
	// The new legal cases, measured on the stream.
	cal := catalog(t).Calendar()
	day := cal.Config().Hours.Day()
	var sameDay, afterCutOff, senderDue, dateOnly, prompt, justUnder, apologies, requests, events int
	var sameDayResolved, sameDayLate int
	for code, c := range truth.ByProcedure {
		if isSameDay(code) {
			sameDayResolved += c.Resolved
			sameDayLate += c.ResolvedLate
		}
	}
	for _, it := range items {
		ev := it.Event
		if ev == nil || it.MsgID == "" {
			continue
		}
		events++
		switch ev.Action {
		case "receive":
			lt := ev.Time.In(workflow.Zone)
			switch {
			case isSameDay(ev.Procedure):
				sameDay++
				if lt.Hour() >= 15 {
					afterCutOff++
				}
			case !ev.Due.IsZero():
				senderDue++
				if ev.DueDay {
					dateOnly++
				}
			}
		case "apologize":
			apologies++
		case "request_supplement":
			requests++
		}
		switch w := cal.Working(ev.Time, ev.Entered); {
		case w <= 30*time.Minute:
			prompt++
		case w > day/2 && w <= day:
			justUnder++
		}
	}
	irr := tot.Irregularities
	for _, c := range []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"land", share(land, submitted), 0.12, 0.18},
		{"feedback", share(feedback, submitted), 0.03, 0.07},
		{"online", share(online, submitted-feedback), 0.55, 0.65},
		{"events per dossier", share(truth.Events, truth.Dossiers), 5, 9},
		{"resolved", share(tot.Resolved, truth.Dossiers), 0.70, 0.90},
		{"returned", share(tot.Returned, truth.Dossiers), 0.65, 0.88},
		{"in progress or paused", share(tot.InProgress+tot.Paused, truth.Dossiers), 0.06, 0.16},
		{"withdrawn", share(tot.Withdrawn, truth.Dossiers), 0.02, 0.04},
		{"refused", share(tot.Refused, truth.Dossiers), 0.01, 0.04},
		{"stopped", share(tot.Stopped, truth.Dossiers), 0.003, 0.02},
		{"early or on time", share(tot.ResolvedEarly+tot.ResolvedOnTime, resolvedDue), 0.90, 0.97},
		{"resolved", share(resolvedDue, tot.Resolved), 1, 1},
		{"late with an apology", share(tot.ResolvedLateApology, tot.ResolvedLate), 0.25, 0.75},
		{"same-day receipts", share(sameDay, submitted), 0.15, 0.35},
		{"same-day after cut-off", share(afterCutOff, sameDay), 0.12, 0.40},
		{"same-day resolved late", share(sameDayLate, sameDayResolved), 0.01, 0.12},
		{"date-only due", share(dateOnly, senderDue), 0.30, 0.50},
		{"entered within 30 min", share(prompt, events), 0.95, 1},
		{"late entries", share(irr[workflow.IrregularLateEntry], truth.Dossiers), 0.01, 0.06},
		{"entries just under", share(justUnder, truth.Dossiers), 0.002, 0.03},
		{"late apologies", share(irr[workflow.IrregularLateApology], apologies), 0.15, 0.60},
		{"second supplement", share(irr[workflow.IrregularRepeatedSupplement], requests-irr[workflow.IrregularRepeatedSupplement]), 0.05, 0.25},
		{"digitized input", share(tot.WithDigitizedInput, tot.Received), 0.70, 0.95},
		{"rejected events", share(rejected, truth.Events), 0.002, 0.02},
		{"corrections", share(truth.Corrections, truth.Dossiers), 0.005, 0.04},
	} {
		t.Logf("%-22s %8.3f", c.name, c.got)
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s: %.3f, want %.2f–%.2f", c.name, c.got, c.lo, c.hi)
		}
	}
	t.Logf("%d dossiers, %d events, %d accepted, %d corrections, %d mismatches; by status %v; rejected %v",
		truth.Dossiers, truth.Events, truth.Accepted, truth.Corrections, truth.Mismatches, truth.ByStatus, tot.Rejected)
	for _, r := range []workflow.Reason{workflow.ReasonInvalidTransition, workflow.ReasonMissingAttachment,
		workflow.ReasonDuplicate, workflow.ReasonMalformed} {
		if tot.Rejected[r] == 0 {
			t.Errorf("no %s rejection in %d dossiers", r, n)
		}
	}
}

// isSameDay reports whether the procedure is one of same-day.yaml's.
func isSameDay(code string) bool {
	return strings.HasPrefix(code, "CT.") || strings.HasPrefix(code, "HT.")
}

func TestGenerateNoFaults(t *testing.T) {
	cfg := config(9, 2000)
	cfg.Faults = 0
	items, truth := generate(t, cfg)
	if len(truth.Total.Rejected) != 0 || truth.Corrections != 0 || truth.Mismatches != 0 {
		t.Errorf("without faults: rejected %v, %d corrections, %d mismatches; want none", truth.Total.Rejected, truth.Corrections, truth.Mismatches)
	}
	if truth.Accepted != len(items) {
		t.Errorf("without faults: %d of %d events accepted", truth.Accepted, len(items))
	}
}

func TestConfigValidate(t *testing.T) {
	if err := simulate.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*simulate.Config)
		want string
	}{
		{"no dossiers", func(c *simulate.Config) { c.Dossiers = 0 }, "dossiers"},
		{"no start", func(c *simulate.Config) { c.Start = time.Time{} }, "start"},
		{"no days", func(c *simulate.Config) { c.Days = 0 }, "days"},
		{"one agency", func(c *simulate.Config) { c.Agencies = 1 }, "agencies"},
		{"too many agencies", func(c *simulate.Config) { c.Agencies = simulate.MaxAgencies + 1 }, "agencies"},
		{"bad source", func(c *simulate.Config) { c.Source = "Tây Ninh" }, "source"},
		{"faults over 1", func(c *simulate.Config) { c.Faults = 1.5 }, "faults"},
		{"faults NaN", func(c *simulate.Config) { c.Faults = nan() }, "faults"},
	} {
		cfg := simulate.DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error about %s", tc.name, err, tc.want)
		}
		if _, _, gerr := simulate.Generate(cfg, catalog(t)); gerr == nil {
			t.Errorf("%s: Generate accepted the config", tc.name)
		}
	}
}

func nan() float64 { zero := 0.0; return zero / zero }

// edited returns the shipped definitions with one file's text edited.
func edited(t *testing.T, file, old, new string) *workflow.Catalog {
	t.Helper()
	return editedFiles(t, edit{file, old, new})
}

// edit replaces the first old of a definition file with new.
type edit struct{ file, old, new string }

// editedFiles returns the shipped definitions, with the shipped calendar,
// with the edits made in order.
func editedFiles(t *testing.T, edits ...edit) *workflow.Catalog {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(configs.FS, configs.DefinitionsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(configs.FS, path)
		if err != nil {
			return err
		}
		for _, e := range edits {
			if strings.HasSuffix(path, "/"+e.file) {
				s := string(b)
				if !strings.Contains(s, e.old) {
					t.Fatalf("%s has no %q", path, e.old)
				}
				b = []byte(strings.Replace(s, e.old, e.new, 1))
			}
		}
		m[path] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := workflow.Load(m, configs.DefinitionsDir)
	if err != nil {
		t.Fatalf("load edited definitions: %v", err)
	}
	return cat.WithCalendar(catalog(t).Calendar())
}

// TestGenerateFollowsSettings checks the generator's model reads the
// definitions' settings, not the shipped values: a procedure's cut-off, a
// supplement that restarts a same-day clock, the late_entry and
// apology_notice of a flow. hoso's decision follows the edited files; the
// truth must too, on a stream with events the settings decide.
func TestGenerateFollowsSettings(t *testing.T) {
	cat := editedFiles(t,
		edit{"same-day.yaml", `sector: "Chứng thực", sla: {same_day: true, cut_off: "15:00"}}`, `sector: "Chứng thực", sla: {same_day: true, cut_off: "11:00"}}`},
		edit{"same-day.yaml", "  - name: supplement\n    from: [supplement]\n    to: processing\n    clock: resume", "  - name: supplement\n    from: [supplement]\n    to: processing\n    clock: restart"},
		edit{"standard.yaml", "apology_limit: 1\n", "apology_limit: 1\nlate_entry: {working_hours: 3}\napology_notice: {working_days: 2}\n"},
	)
	cfg := config(4, 4000)
	items, truth, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatalf("Generate with edited settings: %v", err)
	}
	if diff := cmp.Diff(truth, walk(t, cat, items), cmpopts.EquateEmpty(), ignoreLookups); diff != "" {
		t.Errorf("edited settings: walking the stream through Decide ends elsewhere than Truth (-truth +walk):\n%s", diff)
	}

	// The stream has events on which the edited settings and the shipped
	// ones disagree.
	cal := cat.Calendar()
	day := cal.Config().Hours.Day()
	var cutOff, restarts, entries, notices int
	due := map[string]time.Time{}
	for _, it := range items {
		ev := it.Event
		if ev == nil || it.MsgID == "" {
			continue
		}
		if w := cal.Working(ev.Time, ev.Entered); ev.Procedure != "PAKN" && !isSameDay(ev.Procedure) && !strings.HasPrefix(ev.Procedure, "DD.") &&
			w > 3*time.Hour && w <= day {
			entries++ // late under standard.yaml's 3 hours, not under a day
		}
		switch ev.Action {
		case "receive":
			if h := ev.Time.In(workflow.Zone).Hour(); ev.Procedure == "CT.001" && h >= 11 && h < 15 {
				cutOff++ // due the next day from 11:00, the same day before 15:00
			}
			if !ev.Due.IsZero() {
				due[ev.Dossier] = ev.Due
				if ev.DueDay {
					due[ev.Dossier] = cal.EndOfDay(ev.Due)
				}
			}
		case "supplement":
			if isSameDay(ev.Procedure) {
				restarts++
			}
		case "apologize":
			if w := cal.Working(ev.Time, due[ev.Dossier]); !isSameDay(ev.Procedure) && w >= day && w < 2*day {
				notices++ // before the receipt's date: late under standard.yaml's 2 days, not under one
			}
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"CT.001 receipts from 11:00 to 15:00", cutOff}, {"same-day supplements", restarts},
		{"standard entries 3 h to a day late", entries}, {"standard apologies 1 to 2 days ahead", notices}} {
		if c.n == 0 {
			t.Errorf("no %s: the edited setting decides nothing", c.name)
		}
	}
}

// TestGenerateDefinitionDrift checks Generate fails loudly when a shipped
// definition no longer has what the generator needs.
func TestGenerateDefinitionDrift(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"no send_to_tax", "land.yaml", "name: send_to_tax", "name: send_to_tax_office", `no action ["send_to_tax"]`},
		{"a new guard", "standard.yaml", "  - name: assign\n    from: [received]\n    to: processing\n    guards:\n      - fields: [department]",
			"  - name: assign\n    from: [received]\n    to: processing\n    guards:\n      - fields: [department, note]", "rejects the generator's assign"},
	} {
		cat := edited(t, tc.file, tc.old, tc.new)
		_, _, err := simulate.Generate(config(1, 500), cat)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Generate = %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	// A procedure no definition covers at the time.
	cfg := config(1, 100)
	cfg.Start = time.Date(2024, 1, 2, 8, 0, 0, 0, workflow.Zone)
	_, _, err := simulate.Generate(cfg, catalog(t))
	if err == nil || !strings.Contains(err.Error(), `no action ["send_to_tax"]`) {
		t.Errorf("before the land definition's effective date: Generate = %v, want an error naming send_to_tax", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cat := catalog(b)
	cfg := config(1, 100_000)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		items, _, err := simulate.Generate(cfg, cat)
		if err != nil {
			b.Fatal(err)
		}
		n += len(items)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(n)/float64(b.N), "items/op")
}

// TestGenerateFacts: the stream says, on a share of its events, how
// dossiers were submitted, how they were paid and how applicants rated
// them, so that a demo shows the figures of Decision 766/QĐ-TTg: of the
// online submissions about 30% online in full, of the counter receipts
// about 10% by post, of the payments about 40% online, of the returns
// about half rated.
func TestGenerateFacts(t *testing.T) {
	items, _ := generate(t, config(7, 3000))
	count := map[string]int{}
	for _, it := range items {
		e := it.Event
		if e == nil || it.MsgID == "" {
			continue
		}
		count[e.Action]++
		switch {
		case e.Action == "submit" && e.Channel == workflow.ChannelOnlineFull:
			count["submit online_full"]++
		case e.Action == "receive" && e.Channel == workflow.ChannelPost:
			count["receive post"]++
		case e.Action == "pay" && e.Payment == workflow.PaymentOnline:
			count["pay online"]++
		case e.Action == "return" && e.Satisfaction >= 1 && e.Satisfaction <= 5:
			count["return rated"]++
		}
		if e.Channel != "" && e.Action != "submit" && e.Action != "receive" || e.Payment != "" && e.Action != "pay" ||
			e.Satisfaction != 0 && e.Action != "return" {
			t.Errorf("%s %s says channel %q, payment %q, score %d", e.Dossier, e.Action, e.Channel, e.Payment, e.Satisfaction)
		}
	}
	share := func(of, in string) float64 { return float64(count[of]) / float64(max(count[in], 1)) }
	for _, c := range []struct {
		of, in   string
		min, max float64
	}{{"submit online_full", "submit", 0.2, 0.4}, {"pay online", "pay", 0.3, 0.5}, {"return rated", "return", 0.4, 0.6}} {
		if s := share(c.of, c.in); s < c.min || s > c.max {
			t.Errorf("%s: %d of %d %s (%.2f), want %.2f–%.2f", c.of, count[c.of], count[c.in], c.in, s, c.min, c.max)
		}
	}
	if count["receive post"] == 0 {
		t.Errorf("no receipt by post in %d receipts", count["receive"])
	}
}

// ignoreLookups leaves the lookup secrets out of a comparison of truths:
// walk counts, TestGenerateLookups checks them.
var ignoreLookups = cmpopts.IgnoreFields(simulate.Truth{}, "LookupKey", "Lookups")

// TestGenerateLookups walks the stream through Decide: every dossier an
// accepted receipt reached holds the digest of the secret Truth lists
// for it under the simulation's key, feedback included, and no other
// dossier holds one; the secrets are the seed's.
func TestGenerateLookups(t *testing.T) {
	if got := simulate.LookupSecret(1, "000.00.12.H57-250804-0001"); got != "9JZAM-35P52" {
		// Computed with Python's hashlib: see LookupSecret.
		t.Errorf("LookupSecret(1, 000.00.12.H57-250804-0001) = %q, want 9JZAM-35P52", got)
	}
	if simulate.LookupSecret(2, "000.00.12.H57-250804-0001") == simulate.LookupSecret(1, "000.00.12.H57-250804-0001") {
		t.Errorf("LookupSecret gives seeds 1 and 2 one secret")
	}
	cfg := config(3, 1500)
	cfg.Faults = 0.3
	cat := catalog(t)
	items, truth := generate(t, cfg)
	key, err := workflow.ParseLookupKey([]byte(truth.LookupKey))
	if err != nil || string(key) != string(simulate.LookupKey()) {
		t.Fatalf("Truth.LookupKey %q reads as %x, %v; want the simulation's key", truth.LookupKey, key, err)
	}
	dossiers := map[string]*workflow.Dossier{}
	seen := map[string]bool{}
	for i, it := range items {
		if it.Event == nil || seen[it.Event.ID] {
			continue
		}
		seen[it.Event.ID] = true
		ev := *it.Event
		dec := cat.Decide(dossiers[ev.Dossier], &workflow.Envelope{Seq: uint64(i + 1), Subject: it.Subject, Published: it.Time, Event: &ev})
		if dec.Dossier != nil {
			dossiers[dec.Dossier.Code] = dec.Dossier
		}
	}
	withDigest, feedback := 0, 0
	for code, d := range dossiers {
		secret, listed := truth.Lookups[code]
		switch {
		case listed && !d.LookupMatches(key, secret):
			t.Errorf("dossier %s: its digest %x is not of the secret %q Truth lists", code, d.Lookup, secret)
		case !listed && d.Lookup != [32]byte{}:
			t.Errorf("dossier %s holds a digest, Truth lists no secret", code)
		case listed:
			withDigest++
			if err := workflow.CheckLookupSecret(secret); err != nil {
				t.Errorf("dossier %s: secret %q: %v", code, secret, err)
			}
			if secret != simulate.LookupSecret(cfg.Seed, code) {
				t.Errorf("dossier %s: secret %q, LookupSecret gives %q", code, secret, simulate.LookupSecret(cfg.Seed, code))
			}
			if d.Procedure == "PAKN" {
				feedback++
			}
		}
		if !d.ReceivedAt.IsZero() && d.Procedure != "PAKN" && !listed {
			t.Errorf("dossier %s was received without a lookup digest", code)
		}
	}
	if withDigest != len(truth.Lookups) || withDigest < len(dossiers)/2 || feedback == 0 {
		t.Errorf("%d of %d dossiers hold a digest (%d feedback), Truth lists %d", withDigest, len(dossiers), feedback, len(truth.Lookups))
	}
}
