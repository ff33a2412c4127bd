package web

import (
	"io"
	"net/http"
	"net/http/httptest"
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
		srv := httptest.NewServer(New(Config{Store: f.db, Catalog: cat, Now: func() time.Time { return tc.now }}))
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
