package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// TestUnconfirmedCalendarBanner: every page says when this year or the
// next has no calendar from an official announcement (the shipped 2027 is
// computed), and says nothing while both are confirmed.
func TestUnconfirmedCalendarBanner(t *testing.T) {
	f := newFixture(t, false)
	defs, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cat := defs.WithCalendar(cal)
	for _, tc := range []struct {
		now  time.Time
		path string
		want string // "" for no banner
	}{
		{time.Date(2022, 12, 7, 9, 0, 0, 0, workflow.Zone), "/", ""}, // 2018–2026 follow announcements
		{time.Date(2025, 6, 1, 9, 0, 0, 0, workflow.Zone), "/", ""},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, workflow.Zone), "/", "Lịch ngày nghỉ chưa theo thông báo chính thức cho năm 2027."},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, workflow.Zone), "/overdue?lang=en", "The calendar of days off follows no official announcement for 2027."},
		{time.Date(2027, 3, 1, 9, 0, 0, 0, workflow.Zone), "/definitions", "cho năm 2027, 2028."},
	} {
		srv := newTestServer(New(Config{Store: f.db, Catalog: cat, Now: func() time.Time { return tc.now }}))
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		page := string(body)
		switch {
		case resp.StatusCode != http.StatusOK:
			t.Errorf("%s on %s: %d", tc.path, tc.now.Format(time.DateOnly), resp.StatusCode)
		case tc.want == "" && strings.Contains(page, `class="banner"`):
			t.Errorf("%s on %s shows a calendar banner with both years confirmed", tc.path, tc.now.Format(time.DateOnly))
		case tc.want != "" && !strings.Contains(page, tc.want):
			t.Errorf("%s on %s does not say %q", tc.path, tc.now.Format(time.DateOnly), tc.want)
		}
	}
}

// TestDashboardCountsInCalendarInForce: the overdue list counts working
// days, and the banner names unconfirmed years, in the calendar in force
// (Config.Calendar), which a calendar event replaces while the server
// runs, not in the catalog's.
func TestDashboardCountsInCalendarInForce(t *testing.T) {
	f := newFixture(t, false)
	defs, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	computed, err := workflow.NewCalendar(workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cat := defs.WithCalendar(computed)
	// Announced: Wednesday 15 October 2025 off, and 2026 confirmed.
	y2025 := computed.Year(2025)
	y2025.Source = "thử nghiệm"
	y2025.Holidays = append(y2025.Holidays, workflow.DayOff{Date: time.Date(2025, 10, 15, 0, 0, 0, 0, workflow.Zone), Name: "Nghỉ"})
	inForce, err := computed.WithYear(y2025)
	if err != nil {
		t.Fatal(err)
	}
	y2026 := computed.Year(2026)
	y2026.Source = "thử nghiệm"
	if inForce, err = inForce.WithYear(y2026); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 10, 17, 17, 0, 0, 0, workflow.Zone) // Friday
	for _, tc := range []struct {
		name   string
		cal    func() *workflow.Calendar
		late   string // working days since Saturday 11 October 09:00
		banner bool
	}{
		{"catalog's", nil, "5.00", true},
		{"in force", func() *workflow.Calendar { return inForce }, "4.00", false},
	} {
		srv := newTestServer(New(Config{Store: f.db, Catalog: cat, Calendar: tc.cal, Now: func() time.Time { return now }}))
		get := func(path string) string {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return string(body)
		}
		csv := get("/overdue?format=csv")
		page := get("/")
		srv.Close()
		if !strings.Contains(csv, ","+tc.late+",") {
			t.Errorf("%s calendar: the overdue list does not count %s working days late:\n%s", tc.name, tc.late, csv)
		}
		if got := strings.Contains(page, `class="banner"`); got != tc.banner {
			t.Errorf("%s calendar: banner %t, want %t", tc.name, got, tc.banner)
		}
	}
}
