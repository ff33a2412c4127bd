package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoso-vn/hoso/workflow"
)

// TestCalendarConfirmedMetric: hoso_calendar_confirmed says, for this
// year and the next in Vietnam, whether the shipped calendar follows an
// announcement (2018–2026) or is computed (2027 on).
func TestCalendarConfirmedMetric(t *testing.T) {
	cat, err := DefaultRulesConfig().Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{time.Date(2020, 6, 1, 9, 0, 0, 0, workflow.Zone), []string{"2020=1", "2021=1"}},
		{time.Date(2025, 6, 1, 9, 0, 0, 0, workflow.Zone), []string{"2025=1", "2026=1"}},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, workflow.Zone), []string{"2026=1", "2027=0"}},
		{time.Date(2026, 12, 31, 17, 30, 0, 0, time.UTC), []string{"2027=0", "2028=0"}}, // 1 January in Vietnam
	} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(&calendarCollector{cal: cat.Calendar, now: func() time.Time { return tc.now }})
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range families {
			if f.GetName() != "hoso_calendar_confirmed" {
				continue
			}
			for _, m := range f.GetMetric() {
				got = append(got, fmt.Sprintf("%s=%v", m.GetLabel()[0].GetValue(), m.GetGauge().GetValue()))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("at %s: hoso_calendar_confirmed %v, want %v", tc.now, got, tc.want)
		}
	}
}
