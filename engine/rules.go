package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// RulesConfig says where the rules hoso decides by come from: procedure
// definitions and the working-day calendar. The decisions depend on them,
// so every process that applies a stream (serve, rebuild) must use the
// same rules.
type RulesConfig struct {
	Definitions string // directory of definition files; "" uses the shipped ones
	Calendar    string // directory of calendar year files; "" uses the shipped ones
	WorkHours   string // "07:00-11:30,13:30-17:00": the two daily working periods
	CutOff      string // "17:00": receipts after it count from the next working morning
}

// DefaultRulesConfig returns the shipped rules with the default working hours.
func DefaultRulesConfig() RulesConfig {
	return RulesConfig{WorkHours: "07:00-11:30,13:30-17:00", CutOff: "17:00"}
}

// CalendarConfig parses the working hours and cut-off.
func (r RulesConfig) CalendarConfig() (workflow.CalendarConfig, error) {
	var cfg workflow.CalendarConfig
	periods := strings.Split(r.WorkHours, ",")
	if len(periods) != 2 {
		return cfg, fmt.Errorf("work hours %q: want two periods, e.g. 07:00-11:30,13:30-17:00", r.WorkHours)
	}
	var bounds []time.Duration
	for _, p := range periods {
		from, to, ok := strings.Cut(strings.TrimSpace(p), "-")
		if !ok {
			return cfg, fmt.Errorf("work hours %q: period %q is not HH:MM-HH:MM", r.WorkHours, p)
		}
		for _, v := range []string{from, to} {
			d, err := clockTime(v)
			if err != nil {
				return cfg, fmt.Errorf("work hours %q: %w", r.WorkHours, err)
			}
			bounds = append(bounds, d)
		}
	}
	cfg.Hours = workflow.WorkingHours{MorningStart: bounds[0], MorningEnd: bounds[1], AfternoonStart: bounds[2], AfternoonEnd: bounds[3]}
	if r.CutOff != "" {
		d, err := clockTime(r.CutOff)
		if err != nil {
			return cfg, fmt.Errorf("cut-off: %w", err)
		}
		cfg.CutOff = d
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// clockTime parses HH:MM as an offset from midnight.
func clockTime(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time HH:MM", v)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Load loads the definitions and the calendar into a catalog.
func (r RulesConfig) Load() (*workflow.Catalog, error) {
	cat, err := LoadDefinitions(r.Definitions)
	if err != nil {
		return nil, err
	}
	cal, _, err := r.LoadCalendar()
	if err != nil {
		return nil, err
	}
	return cat.WithCalendar(cal), nil
}

// LoadCalendar loads the calendar year files (of the Calendar directory,
// or the shipped ones) into a calendar with the working hours and
// cut-off, and returns it with the files read, in year order.
func (r RulesConfig) LoadCalendar() (*workflow.Calendar, []workflow.CalendarYear, error) {
	calCfg, err := r.CalendarConfig()
	if err != nil {
		return nil, nil, err
	}
	var files []workflow.CalendarYear
	if r.Calendar == "" {
		files, err = workflow.ReadCalendarYears(configs.FS, configs.CalendarDir)
	} else {
		files, err = workflow.ReadCalendarYears(os.DirFS(r.Calendar), ".")
		var ve *workflow.ValidationError
		if errors.As(err, &ve) {
			for i := range ve.Problems {
				ve.Problems[i].File = filepath.Join(r.Calendar, ve.Problems[i].File)
			}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load calendar: %w", err)
	}
	years := make([]workflow.YearSchedule, len(files))
	for i, f := range files {
		years[i] = f.Schedule
	}
	cal, err := workflow.NewCalendar(calCfg, years...)
	if err != nil {
		return nil, nil, fmt.Errorf("load calendar: %w", err)
	}
	return cal, files, nil
}

// LoadDefinitions loads the definitions of dir, or the embedded ones when dir is "".
func LoadDefinitions(dir string) (*workflow.Catalog, error) {
	if dir == "" {
		return workflow.Load(configs.FS, configs.DefinitionsDir)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("definitions: %w", err)
	}
	cat, err := workflow.Load(os.DirFS(dir), ".")
	var ve *workflow.ValidationError
	if errors.As(err, &ve) {
		// Name files as the user knows them, not relative to dir.
		for i := range ve.Problems {
			ve.Problems[i].File = filepath.Join(dir, ve.Problems[i].File)
		}
	}
	return cat, err
}
