package workflow_test

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// FuzzParseCalendarYear: any input either fails with a *ValidationError whose
// problems all name the file, or gives a schedule NewCalendar accepts, with
// every date in its year and every working day a weekend day.
func FuzzParseCalendarYear(f *testing.F) {
	files, err := fs.Glob(configs.FS, configs.CalendarDir+"/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := fs.ReadFile(configs.FS, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(badYear))
	f.Add([]byte("year: 2030\nsource: x\nworking_days: [{date: 2030-01-05, name: y}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		y, err := workflow.ParseCalendarYear("f.yaml", data)
		if err != nil {
			var ve *workflow.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("ParseCalendarYear = %v, want a *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.File != "f.yaml" || p.Msg == "" {
					t.Fatalf("problem %+v", p)
				}
			}
			return
		}
		for _, h := range y.Holidays {
			if h.Date.Year() != y.Year || h.Name == "" {
				t.Fatalf("holiday %+v in year %d", h, y.Year)
			}
		}
		for _, w := range y.WorkingDays {
			if wd := w.Date.Weekday(); w.Date.Year() != y.Year || (wd != time.Saturday && wd != time.Sunday) {
				t.Fatalf("working day %+v in year %d", w, y.Year)
			}
		}
		c, err := workflow.NewCalendar(workflow.CalendarConfig{}, *y)
		if err != nil {
			t.Fatalf("NewCalendar(parsed %d) = %v", y.Year, err)
		}
		for _, w := range y.WorkingDays {
			if !c.IsWorkingDay(w.Date) {
				t.Fatalf("working day %v is off", w.Date)
			}
		}
	})
}
