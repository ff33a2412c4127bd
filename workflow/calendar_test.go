package workflow_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// shippedCalendar loads the embedded year files with the default config.
func shippedCalendar(tb testing.TB) *workflow.Calendar {
	tb.Helper()
	c, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{})
	if err != nil {
		tb.Fatalf("load shipped calendar: %v", err)
	}
	return c
}

// instant parses "YYYY-MM-DD HH:MM" in Zone.
func instant(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, workflow.Zone)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

const stamp = "Mon 2006-01-02 15:04"

// checkDays checks IsWorkingDay for consecutive days from first: want holds
// one letter a day, W for a working day and O for a day off.
func checkDays(t *testing.T, c *workflow.Calendar, first, want string) {
	t.Helper()
	day := date(t, first)
	for i, w := range want {
		d := day.AddDate(0, 0, i)
		if got := c.IsWorkingDay(d); got != (w == 'W') {
			name, _ := c.DayOff(d)
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%q)", d.Format("Mon 2006-01-02"), got, w == 'W', name)
		}
	}
}

func TestShippedYears(t *testing.T) {
	c := shippedCalendar(t)
	var years []int
	for _, y := range c.Years() {
		years = append(years, y.Year)
		if y.Source == "" || len(y.Holidays) == 0 {
			t.Errorf("year %d: source %q, %d holidays", y.Year, y.Source, len(y.Holidays))
		}
	}
	if diff := cmp.Diff([]int{2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 2027}, years); diff != "" {
		t.Errorf("Years() (-want +got):\n%s", diff)
	}
	// Every shipped year grants at least the Labour Code's days: as many
	// weekdays off as ComputedYear gives (the government moves the second
	// National Day and the Tết days, never fewer). Until 2020 the Labour
	// Code 2012 gave National Day one day, not two, so 10 days, not 11.
	for _, y := range c.Years() {
		off := 0
		for _, h := range y.Holidays {
			if wd := h.Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
				off++
			}
		}
		computed := 0
		for _, h := range workflow.ComputedYear(y.Year).Holidays {
			if wd := h.Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
				computed++
			}
		}
		if y.Year < 2021 {
			computed-- // the second National Day came with the Labour Code 2019
		}
		if off < computed {
			t.Errorf("year %d: %d weekdays off, the Labour Code gives %d", y.Year, off, computed)
		}
	}
}

// TestShipped2027IsComputed: 2027 has no announcement yet; its file must be
// exactly ComputedYear(2027) until one replaces it.
func TestShipped2027IsComputed(t *testing.T) {
	c := shippedCalendar(t)
	ys := c.Years()
	file := ys[len(ys)-1]
	want := workflow.ComputedYear(2027)
	if file.Year != 2027 || !strings.HasPrefix(file.Source, "computed") {
		t.Fatalf("last shipped year = %d from %q, want 2027 computed", file.Year, file.Source)
	}
	if diff := cmp.Diff(want.Holidays, file.Holidays); diff != "" {
		t.Errorf("configs/calendar/2027.yaml differs from ComputedYear(2027) (-computed +file):\n%s", diff)
	}
	if len(file.WorkingDays) != 0 {
		t.Errorf("2027 working days = %v, want none", file.WorkingDays)
	}
}

func TestShippedCalendarDays(t *testing.T) {
	c := shippedCalendar(t)
	tests := []struct{ name, first, want string }{
		// Mon 20 Jan 2025 … Sun 9 Feb 2025: off Sat 25 Jan – Sun 2 Feb.
		{"Tết 2025", "2025-01-20", "WWWWWOO" + "OOOOOOO" + "WWWWWOO"},
		// Mon 9 Feb 2026 … Sun 1 Mar 2026: off Sat 14 Feb – Sun 22 Feb.
		{"Tết 2026", "2026-02-09", "WWWWWOO" + "OOOOOOO" + "WWWWWOO"},
		// Mon 5 Feb 2024 …: off Thu 8 Feb – Wed 14 Feb.
		{"Tết 2024", "2024-02-05", "WWWOOOO" + "OOOWWOO"},
		// Mon 22 Apr 2024 … Sun 5 May 2024: off Sat 27 Apr – Wed 1 May, Sat 4 May worked.
		{"30/4 2024", "2024-04-22", "WWWWWOO" + "OOOWWWO"},
		// Mon 21 Apr 2025 … Sun 4 May 2025: Sat 26 Apr worked, off 30 Apr – 4 May.
		{"30/4 2025", "2025-04-21", "WWWWWWO" + "WWOOOOO"},
		// Mon 20 Apr 2026 …: Hùng Kings on Sunday 26 Apr, so Monday 27 Apr off; 30 Apr – 3 May off.
		{"Hùng Kings and 30/4 2026", "2026-04-20", "WWWWWOO" + "OWWOOOO" + "W"},
		// Mon 26 Aug 2024 …: off Sat 31 Aug – Tue 3 Sep.
		{"National Day 2024", "2024-08-26", "WWWWWOO" + "OOWWWOO"},
		// Mon 25 Aug 2025 …: off Sat 30 Aug – Tue 2 Sep.
		{"National Day 2025", "2025-08-25", "WWWWWOO" + "OOWWWOO"},
		// Mon 17 Aug 2026 …: Sat 22 Aug worked; off Sat 29 Aug – Wed 2 Sep.
		{"National Day 2026", "2026-08-17", "WWWWWWO" + "WWWWWOO" + "OOOWWOO"},
		// Thu 1 Jan 2026 … Sun 11 Jan: off 1–4 Jan, Sat 10 Jan worked.
		{"New Year 2026", "2026-01-01", "OOOO" + "WWWWWWO"},
		// Mon 1 Feb 2027 …: computed: off Fri 5 Feb – Thu 11 Feb.
		{"Tết 2027", "2027-02-01", "WWWWOOO" + "OOOOWOO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDays(t, c, tt.first, tt.want) })
	}
	for _, y := range announcedDays {
		t.Run(fmt.Sprint("announced ", y.year), func(t *testing.T) {
			for _, d := range expandDays(t, y.off) {
				if c.IsWorkingDay(d) {
					t.Errorf("IsWorkingDay(%s) = true, want a day off", d.Format("Mon 2006-01-02"))
				}
			}
			for _, d := range expandDays(t, y.working) {
				if !c.IsWorkingDay(d) {
					name, _ := c.DayOff(d)
					t.Errorf("IsWorkingDay(%s) = false (%q), want a working day", d.Format("Mon 2006-01-02"), name)
				}
			}
		})
	}
}

// announcedDays are the days of 2018–2023 as the government's announcements
// gave them to civil servants, written out from the announcements, not from
// the year files. off is every day of each block of days off, its weekend
// days included; working holds the last working day before and the first
// after each Tết block, each Saturday worked in exchange for a day off, and
// the days a computed year gets wrong: until 2020 the Labour Code 2012 gave
// National Day one day, and 2021 took 3 September rather than 1 September.
// "a..b" stands for every day from a to b.
var announcedDays = []struct {
	year    int
	off     []string
	working []string
}{
	// Tết Mậu Tuất (Fri 16 Feb) 29 tháng Chạp – mùng 5; National Day on a
	// Sunday, Monday off; Monday 31 Dec off for Tết Dương lịch 2019.
	{2018,
		[]string{"2018-01-01", "2018-02-14..2018-02-20", "2018-04-25", "2018-04-28..2018-05-01", "2018-09-01..2018-09-03", "2018-12-29..2018-12-31"},
		[]string{"2018-02-13", "2018-02-21", "2018-09-04"}},
	// Saturday 5 Jan worked for 31 Dec 2018; Tết Kỷ Hợi (Tue 5 Feb) nine
	// days; Hùng Kings on a Sunday; Monday 29 Apr off, Saturday 4 May worked.
	{2019,
		[]string{"2019-01-01", "2019-02-02..2019-02-10", "2019-04-14..2019-04-15", "2019-04-27..2019-05-01", "2019-08-31..2019-09-02"},
		[]string{"2019-01-05", "2019-02-01", "2019-02-11", "2019-05-04", "2019-09-03"}},
	// Tết Canh Tý (Sat 25 Jan) 29 tháng Chạp – mùng 5.
	{2020,
		[]string{"2020-01-01", "2020-01-23..2020-01-29", "2020-04-02", "2020-04-30..2020-05-03", "2020-09-02"},
		[]string{"2020-01-22", "2020-01-30", "2020-09-01"}},
	// Tết Tân Sửu (Fri 12 Feb) 29 tháng Chạp – mùng 5; 1 May a Saturday,
	// Monday 3 May off; National Day 2 and 3 Sep.
	{2021,
		[]string{"2021-01-01", "2021-02-10..2021-02-16", "2021-04-21", "2021-04-30..2021-05-03", "2021-09-02..2021-09-05"},
		[]string{"2021-02-09", "2021-02-17", "2021-09-01"}},
	// 1 Jan a Saturday, Monday 3 Jan off; Tết Nhâm Dần (Tue 1 Feb) nine
	// days; Hùng Kings on a Sunday; 30 Apr and 1 May on the weekend,
	// Monday 2 and Tuesday 3 May off; National Day 1 and 2 Sep.
	{2022,
		[]string{"2022-01-01..2022-01-03", "2022-01-29..2022-02-06", "2022-04-10..2022-04-11", "2022-04-30..2022-05-03", "2022-09-01..2022-09-04"},
		[]string{"2022-01-28", "2022-02-07"}},
	// 1 Jan a Sunday, Monday 2 Jan off; Tết Quý Mão (Sun 22 Jan) 29 tháng
	// Chạp – mùng 5; Hùng Kings Saturday 29 Apr, 30 Apr a Sunday, so off to
	// Wednesday 3 May; National Day on a Saturday with Friday 1 Sep, Monday
	// 4 Sep off.
	{2023,
		[]string{"2023-01-01..2023-01-02", "2023-01-20..2023-01-26", "2023-04-29..2023-05-03", "2023-09-01..2023-09-04"},
		[]string{"2023-01-19", "2023-01-27"}},
}

// expandDays returns the days of specs, each a date YYYY-MM-DD or a range
// "a..b" of every day from a to b.
func expandDays(t *testing.T, specs []string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, s := range specs {
		from, to, ok := strings.Cut(s, "..")
		if !ok {
			to = from
		}
		last := date(t, to)
		for d := date(t, from); !d.After(last); d = d.AddDate(0, 0, 1) {
			out = append(out, d)
		}
	}
	return out
}

func TestDayOffNames(t *testing.T) {
	c := shippedCalendar(t)
	tests := []struct {
		day  string
		name string
		off  bool
	}{
		{"2025-04-26", "Làm bù cho thứ Sáu 02/5", false},
		{"2025-05-02", "Nghỉ hoán đổi (làm bù thứ Bảy 26/4)", true},
		{"2025-05-05", "", false},
		{"2025-05-10", "Thứ bảy", true},
		{"2025-05-11", "Chủ nhật", true},
		{"2026-04-26", "Giỗ Tổ Hùng Vương", true},
		{"2026-04-27", "Nghỉ bù Giỗ Tổ Hùng Vương", true},
		{"2026-09-02", "Quốc khánh", true},
		{"2026-09-01", "Quốc khánh (ngày liền kề)", true},
		{"2028-01-03", "Nghỉ bù Tết Dương lịch", true}, // computed
	}
	for _, tt := range tests {
		// Late in the evening UTC is the next day in Zone: the day counts in Zone.
		d := date(t, tt.day).Add(-time.Hour).UTC().Add(time.Hour)
		if name, off := c.DayOff(d); name != tt.name || off != tt.off {
			t.Errorf("DayOff(%s) = %q, %v, want %q, %v", tt.day, name, off, tt.name, tt.off)
		}
	}
	if c.IsWorkingDay(time.Date(2025, 4, 29, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("IsWorkingDay(2025-04-29 18:00 UTC) = true, want false: it is 30 Apr in Vietnam")
	}
}

// TestComputedYear checks the Labour Code rules on computed years.
func TestComputedYear(t *testing.T) {
	c, err := workflow.NewCalendar(workflow.CalendarConfig{}) // no files: every year computed
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, first, want string }{
		// 1 Jan 2028 is a Saturday: Monday 3 Jan off.
		{"1 Jan on Saturday", "2027-12-27", "WWWWWOO" + "OWWWW"},
		// 30 Apr 2028 is a Sunday, 1 May a Monday holiday: the day owed for
		// 30 Apr skips it to Tuesday 2 May.
		{"owed day skips a holiday", "2028-04-24", "WWWWWOO" + "OOWWWOO"},
		// 2023: Hùng Kings Sat 29 Apr, 30 Apr Sun, 1 May Mon: Tue 2 and Wed
		// 3 May off, as the government announced.
		{"2023 Hùng Kings and 30/4", "2023-04-24", "WWWWWOO" + "OOOWWOO"},
		// 2025 computed: Tết Tue 28 Jan – Sat 1 Feb, Monday 3 Feb owed.
		{"Tết 2025 computed", "2025-01-27", "WOOOOOO" + "OWWWW"},
		// 2 Sep 2029 is a Sunday, 1 Sep a Saturday: Monday 3 and Tuesday 4 Sep.
		{"National Day on the weekend", "2029-08-27", "WWWWWOO" + "OOWWWOO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDays(t, c, tt.first, tt.want) })
	}
	if name, off := c.DayOff(date(t, "2028-05-02")); !off || name != "Nghỉ bù Ngày Chiến thắng" {
		t.Errorf("DayOff(2028-05-02) = %q, %v, want the day owed for 30 Apr", name, off)
	}
	// Hùng Kings' day falls on 30 Apr in 2319: one entry with both names and
	// a day owed for the second holiday.
	y := workflow.ComputedYear(2319)
	var names []string
	for _, h := range y.Holidays {
		if h.Date.Month() == time.April && h.Date.Day() == 30 || h.Date.Month() == time.May && h.Date.Day() <= 3 {
			names = append(names, h.Date.Format("01-02 ")+h.Name)
		}
	}
	want := []string{"04-30 Giỗ Tổ Hùng Vương; Ngày Chiến thắng", "05-01 Ngày Quốc tế Lao động", "05-02 Nghỉ bù Ngày Chiến thắng"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("ComputedYear(2319) around 30 Apr (-want +got):\n%s", diff)
	}
	for year := 1990; year <= 2100; year++ {
		y := workflow.ComputedYear(year)
		if y.Year != year || y.Source != "computed" || len(y.WorkingDays) != 0 {
			t.Fatalf("ComputedYear(%d) = year %d, source %q, working days %v", year, y.Year, y.Source, y.WorkingDays)
		}
		weekdays := 0
		for i, h := range y.Holidays {
			if h.Date.Year() != year || h.Date.Location() != workflow.Zone || (i > 0 && !h.Date.After(y.Holidays[i-1].Date)) {
				t.Fatalf("ComputedYear(%d): holiday %d at %v, not in order within the year", year, i, h.Date)
			}
			if wd := h.Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
				weekdays++
			}
		}
		if weekdays != 11 {
			t.Errorf("ComputedYear(%d) gives %d weekdays off, want 11", year, weekdays)
		}
	}
}

func TestFarYears(t *testing.T) {
	c := shippedCalendar(t)
	// Computed on first use, from many goroutines at once (run with -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for y := 2150; y < 2160; y++ {
				tet := workflow.LunarNewYear(y + i%2)
				if c.IsWorkingDay(tet) {
					t.Errorf("IsWorkingDay(Tết %d) = true", y+i%2)
				}
			}
		})
	}
	wg.Wait()
	if name, off := c.DayOff(date(t, "1975-04-30")); !off || name != "Ngày Chiến thắng" {
		t.Errorf("DayOff(1975-04-30) = %q, %v", name, off)
	}
	// Outside years 1–9999 only weekends are off.
	far := time.Date(12025, 1, 1, 10, 0, 0, 0, workflow.Zone)
	if name, off := c.DayOff(far); off || name != "" || far.Weekday() == time.Saturday || far.Weekday() == time.Sunday {
		t.Errorf("DayOff(%v) = %q, %v, want a plain working day", far, name, off)
	}
	if got := c.AddWorkingDays(far, 1); got.Sub(far) != 24*time.Hour {
		t.Errorf("AddWorkingDays(%v, 1) = %v", far, got)
	}
}

func TestStartAndAddWorking(t *testing.T) {
	c := shippedCalendar(t)
	h := time.Hour
	tests := []struct {
		name     string
		received string
		d        time.Duration
		want     string
	}{
		{"one working day", "2025-03-10 08:00", 8 * h, "2025-03-11 08:00"},
		{"late afternoon", "2025-03-10 16:30", h, "2025-03-11 07:30"},
		{"at the cut-off", "2025-03-10 17:00", 0, "2025-03-11 07:00"},
		{"after the cut-off", "2025-03-10 19:45", h, "2025-03-11 08:00"},
		{"lunch break", "2025-03-10 12:10", 0, "2025-03-10 13:30"},
		{"lunch break plus an hour", "2025-03-10 12:10", h, "2025-03-10 14:30"},
		{"at the end of the morning", "2025-03-10 11:30", 0, "2025-03-10 13:30"},
		{"before work", "2025-03-10 05:00", 0, "2025-03-10 07:00"},
		{"inside a period", "2025-03-10 09:17", 0, "2025-03-10 09:17"},
		{"across lunch", "2025-03-10 10:00", 2 * h, "2025-03-10 14:00"},
		{"a morning ends at its end", "2025-03-10 07:00", 4*h + 30*time.Minute, "2025-03-10 11:30"},
		{"a day ends at its end", "2025-03-10 07:00", 8 * h, "2025-03-10 17:00"},
		{"a week of days", "2025-03-10 07:00", 5 * 8 * h, "2025-03-14 17:00"},
		{"over a weekend", "2025-03-14 15:00", 4 * h, "2025-03-17 09:00"},
		{"received on Saturday", "2025-03-15 10:00", h, "2025-03-17 08:00"},
		{"on a working Saturday", "2025-04-25 16:00", 2 * h, "2025-04-26 08:00"},
		{"over Tết 2026", "2026-02-13 10:00", 2 * 8 * h, "2026-02-24 10:00"},
		{"over 30/4 2025", "2025-04-29 10:00", 8 * h, "2025-05-05 10:00"},
		{"negative counts as zero", "2025-03-10 19:00", -h, "2025-03-11 07:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorking(instant(t, tt.received), tt.d)
			if want := instant(t, tt.want); !got.Equal(want) || got.Location() != workflow.Zone {
				t.Errorf("AddWorking(%s, %v) = %s, want %s", tt.received, tt.d, got.Format(stamp), want.Format(stamp))
			}
		})
	}
	// AddWorking(t, 0) is Start(t), and AddWorkingDays counts days of 8 hours.
	for _, tt := range tests {
		if tt.d == 0 {
			in := instant(t, tt.received)
			if got, want := c.Start(in), c.AddWorking(in, 0); !got.Equal(want) {
				t.Errorf("Start(%s) = %s, AddWorking(…, 0) = %s", tt.received, got.Format(stamp), want.Format(stamp))
			}
		}
	}
	if got, want := c.AddWorkingDays(instant(t, "2026-02-13 10:00"), 2), instant(t, "2026-02-24 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays(Fri 13 Feb 2026 10:00, 2) = %s, want %s", got.Format(stamp), want.Format(stamp))
	}
	// A 15-working-day procedure received the Friday before Tết 2025.
	if got, want := c.AddWorkingDays(instant(t, "2025-01-24 09:00"), 15), instant(t, "2025-02-21 09:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays(Fri 24 Jan 2025 09:00, 15) = %s, want %s", got.Format(stamp), want.Format(stamp))
	}
	// A 3-working-day procedure received Thursday 19 Jan 2023 at 10:00, the
	// last working day before Tết Quý Mão. Counted by hand from the
	// announced days: Thursday 10:00–17:00 is 5 working hours (1h30 before
	// lunch, 3h30 after); Fri 20 – Thu 26 Jan are off; Friday 27 Jan adds 8
	// (13); Sat 28 and Sun 29 are off; Monday 30 Jan adds 8 (21); the last 3
	// of the 24 hours run Tuesday 31 Jan 07:00–10:00. Due Tue 31 Jan 10:00.
	// (The computed 2023, off Sat 21 – Fri 27, gives the same instant: both
	// leave two working days between Thursday and Tuesday.)
	if got, want := c.AddWorkingDays(instant(t, "2023-01-19 10:00"), 3), instant(t, "2023-01-31 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays(Thu 19 Jan 2023 10:00, 3) = %s, want %s", got.Format(stamp), want.Format(stamp))
	}
	// One working day from the same instant is the first day after the
	// block, Friday 27 Jan 10:00; the computed 2023 would say Fri 20 Jan.
	if got, want := c.AddWorkingDays(instant(t, "2023-01-19 10:00"), 1), instant(t, "2023-01-27 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays(Thu 19 Jan 2023 10:00, 1) = %s, want %s", got.Format(stamp), want.Format(stamp))
	}
	// The instant itself, not its zone, counts: 01:30 UTC is 08:30 in Vietnam.
	if got, want := c.Start(time.Date(2025, 3, 10, 1, 30, 0, 0, time.UTC)), instant(t, "2025-03-10 08:30"); !got.Equal(want) {
		t.Errorf("Start(01:30 UTC) = %s, want %s", got.Format(stamp), want.Format(stamp))
	}
}

func TestCustomHours(t *testing.T) {
	cfg := workflow.CalendarConfig{
		Hours:  workflow.WorkingHours{MorningStart: 8 * time.Hour, MorningEnd: 12 * time.Hour, AfternoonStart: 13 * time.Hour, AfternoonEnd: 17 * time.Hour},
		CutOff: 15 * time.Hour,
	}
	c, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config(); got != cfg {
		t.Errorf("Config() = %+v, want %+v", got, cfg)
	}
	h := time.Hour
	tests := []struct {
		received string
		d        time.Duration
		want     string
	}{
		{"2025-03-10 14:59", h, "2025-03-10 15:59"}, // before the cut-off: counts on to 17:00
		{"2025-03-10 15:00", 0, "2025-03-11 08:00"}, // at the cut-off: next working morning
		{"2025-03-10 16:00", 2 * h, "2025-03-11 10:00"},
		{"2025-03-10 12:30", 0, "2025-03-10 13:00"},
		{"2025-03-10 07:30", 4 * h, "2025-03-10 12:00"},
		{"2025-03-14 15:30", 8 * h, "2025-03-17 17:00"},
	}
	for _, tt := range tests {
		if got, want := c.AddWorking(instant(t, tt.received), tt.d), instant(t, tt.want); !got.Equal(want) {
			t.Errorf("AddWorking(%s, %v) = %s, want %s", tt.received, tt.d, got.Format(stamp), want.Format(stamp))
		}
	}
	if got, want := c.Working(instant(t, "2025-03-10 11:00"), instant(t, "2025-03-10 14:00")), 2*h; got != want {
		t.Errorf("Working(11:00, 14:00) = %v, want %v", got, want)
	}
	def, err := workflow.NewCalendar(workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := def.Config(); got.Hours != workflow.DefaultWorkingHours() || got.CutOff != 17*time.Hour || got.Hours.Day() != 8*time.Hour {
		t.Errorf("default Config() = %+v", got)
	}
}

func TestWorking(t *testing.T) {
	c := shippedCalendar(t)
	h := time.Hour
	tests := []struct {
		a, b string
		want time.Duration
	}{
		{"2025-03-10 07:00", "2025-03-10 17:00", 8 * h},
		{"2025-03-10 00:00", "2025-03-11 00:00", 8 * h},
		{"2025-03-10 11:00", "2025-03-10 14:00", h}, // 30 min before lunch, 30 after
		{"2025-03-10 12:00", "2025-03-10 13:00", 0},
		{"2025-03-10 18:00", "2025-03-10 17:00", 0},
		{"2025-03-10 10:00", "2025-03-10 10:00", 0},
		{"2025-03-14 16:00", "2025-03-17 08:00", 2 * h}, // over a weekend
		{"2026-02-13 10:00", "2026-02-24 10:00", 16 * h},
		{"2025-03-01 00:00", "2025-04-01 00:00", 21 * 8 * h}, // March 2025: 21 working days
		{"2025-04-01 00:00", "2025-05-01 00:00", 21 * 8 * h}, // April 2025: 22 weekdays, 7 and 30 Apr off, Sat 26 worked
	}
	for _, tt := range tests {
		if got := c.Working(instant(t, tt.a), instant(t, tt.b)); got != tt.want {
			t.Errorf("Working(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestWorkingTimeProperties: for thousands of random instants and durations
// across 2024–2030, AddWorking lands on working time, counts exactly d from
// Start (Working(Start(t), AddWorking(t, d)) == d) and is monotonic in d.
func TestWorkingTimeProperties(t *testing.T) {
	cals := map[string]*workflow.Calendar{"default": shippedCalendar(t)}
	custom, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{
		Hours:  workflow.WorkingHours{MorningStart: 7*time.Hour + 30*time.Minute, MorningEnd: 12 * time.Hour, AfternoonStart: 12 * time.Hour, AfternoonEnd: 16*time.Hour + 45*time.Minute},
		CutOff: 15 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	cals["custom"] = custom
	n := 5000
	if testing.Short() {
		n = 500
	}
	from := instant(t, "2024-01-01 00:00")
	span := instant(t, "2031-01-01 00:00").Sub(from)
	for name, c := range cals {
		rng := rand.New(rand.NewPCG(1, 2))
		day := c.Config().Hours.Day()
		for range n {
			at := from.Add(time.Duration(rng.Int64N(int64(span))))
			d := time.Duration(rng.Int64N(int64(30 * day)))
			if rng.IntN(4) == 0 {
				d = d.Truncate(time.Hour) // whole hours end on period boundaries
			}
			s := c.Start(at)
			got := c.AddWorking(at, d)
			if w := c.Working(s, got); w != d {
				t.Fatalf("%s: Working(Start(%s), AddWorking(…, %v) = %s) = %v", name, at.Format(stamp), d, got.Format(stamp), w)
			}
			// Start is on working time, and skips none unless the cut-off
			// is before the end of the afternoon.
			skipped := c.Working(at, s) != 0 && name == "default"
			if s.Before(at) || c.Working(s, s.Add(1)) != 1 || skipped {
				t.Fatalf("%s: Start(%s) = %s", name, at.Format(stamp), s.Format(stamp))
			}
			if !c.IsWorkingDay(got) {
				t.Fatalf("%s: AddWorking(%s, %v) = %s, a day off", name, at.Format(stamp), d, got.Format(stamp))
			}
			d2 := d + time.Duration(rng.Int64N(int64(3*day)))
			if later := c.AddWorking(at, d2); later.Before(got) {
				t.Fatalf("%s: AddWorking(%s, %v) = %s is before AddWorking(…, %v) = %s", name, at.Format(stamp), d2, later.Format(stamp), d, got.Format(stamp))
			}
		}
	}
}

func TestCalendarConfigValidate(t *testing.T) {
	hm := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	tests := []struct {
		name string
		cfg  workflow.CalendarConfig
		want string // substring of the error; "" for valid
	}{
		{"zero value", workflow.CalendarConfig{}, ""},
		{"defaults with 15:00", workflow.CalendarConfig{CutOff: hm(15, 0)}, ""},
		{"no lunch break", workflow.CalendarConfig{Hours: workflow.WorkingHours{hm(8, 0), hm(12, 0), hm(12, 0), hm(16, 0)}}, ""},
		{"periods reversed", workflow.CalendarConfig{Hours: workflow.WorkingHours{hm(13, 0), hm(17, 0), hm(7, 0), hm(11, 0)}}, "not two ordered periods"},
		{"empty morning", workflow.CalendarConfig{Hours: workflow.WorkingHours{hm(7, 0), hm(7, 0), hm(13, 0), hm(17, 0)}}, "not two ordered periods"},
		{"past midnight", workflow.CalendarConfig{Hours: workflow.WorkingHours{hm(7, 0), hm(11, 0), hm(13, 0), hm(25, 0)}}, "not two ordered periods"},
		{"only one field set", workflow.CalendarConfig{Hours: workflow.WorkingHours{MorningStart: hm(8, 0)}}, "not two ordered periods"},
		{"cut-off after the afternoon", workflow.CalendarConfig{CutOff: hm(18, 0)}, "cut-off 18:00"},
		{"cut-off before work", workflow.CalendarConfig{CutOff: hm(6, 0)}, "cut-off 06:00"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%s) = %v, want %q", tt.name, err, tt.want)
		}
		if _, nerr := workflow.NewCalendar(tt.cfg); (nerr == nil) != (err == nil) {
			t.Errorf("NewCalendar(%s) = %v, Validate = %v", tt.name, nerr, err)
		}
	}
}

func TestNewCalendarRejects(t *testing.T) {
	d := func(s string) workflow.DayOff { return workflow.DayOff{Date: date(t, s), Name: "x"} }
	tests := []struct {
		name  string
		years []workflow.YearSchedule
		want  string
	}{
		{"year twice", []workflow.YearSchedule{{Year: 2030, Source: "a"}, {Year: 2030, Source: "b"}}, "year 2030 given twice"},
		{"date out of the year", []workflow.YearSchedule{{Year: 2030, Holidays: []workflow.DayOff{d("2031-01-01")}}}, "holiday 2031-01-01 is not in the year"},
		{"working weekday", []workflow.YearSchedule{{Year: 2030, WorkingDays: []workflow.DayOff{d("2030-01-02")}}}, "working day 2030-01-02 is not a Saturday or Sunday"},
		{"both", []workflow.YearSchedule{{Year: 2030, Holidays: []workflow.DayOff{d("2030-01-05")}, WorkingDays: []workflow.DayOff{d("2030-01-05")}}}, "both a holiday and a working day"},
		{"year 0", []workflow.YearSchedule{{Year: 0}}, "year 0"},
	}
	for _, tt := range tests {
		if _, err := workflow.NewCalendar(workflow.CalendarConfig{}, tt.years...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewCalendar(%s) = %v, want %q", tt.name, err, tt.want)
		}
	}
	// A schedule outside the precomputed years works, and the calendar keeps
	// its own copy.
	ys := workflow.YearSchedule{Year: 2150, Source: "test", Holidays: []workflow.DayOff{d("2150-06-01")}, WorkingDays: []workflow.DayOff{d("2150-06-06")}}
	c, err := workflow.NewCalendar(workflow.CalendarConfig{}, ys)
	if err != nil {
		t.Fatal(err)
	}
	ys.Holidays[0].Date = date(t, "2150-06-02")
	c.Years()[0].Holidays[0].Date = date(t, "2150-06-03")
	checkDays(t, c, "2150-06-01", "OWWWWW") // Mon 1 Jun off, Sat 6 Jun worked
	// A given year replaces the computed one: Tết is off only if listed.
	if name, _ := c.DayOff(workflow.LunarNewYear(2150)); strings.Contains(name, "Tết") {
		t.Errorf("DayOff(Tết 2150) = %q in a year given without it", name)
	}
	checkDays(t, c, "2149-01-01", "O") // the years around stay computed
}

const badYear = `year: 2025
source: test
colour: blue
holidays:
  - {date: 2025-01-01, name: Tết Dương lịch}
  - {date: 2025-13-01, name: Bad}
  - {date: 2024-12-31, name: Last year}
  - {date: 2025-01-01, name: Again}
  - {date: 2025-04-26, name: Off}
  - {date: 2025-04-30}
  - {name: No date}
  - {date: 2025-05-01, name: May Day, why: because}
working_days:
  - {date: 2025-04-26, name: Worked}
  - {date: 2025-04-25, name: A Friday}
  - {date: 2025-05-03, name: Saturday}
`

// TestParseCalendarYearReportsEveryProblem: one file with many faults gives
// every one of them, each with its line, in one error.
func TestParseCalendarYearReportsEveryProblem(t *testing.T) {
	_, err := workflow.ParseCalendarYear("2025.yaml", []byte(badYear))
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("ParseCalendarYear(bad) = %v, want *ValidationError", err)
	}
	want := []struct {
		line int
		text string
	}{
		{3, `unknown field "colour"`},
		{6, `date "2025-13-01" is not a date YYYY-MM-DD`},
		{7, "date 2024-12-31 is not in 2025"},
		{8, "date 2025-01-01 listed twice (first at line 5)"},
		{10, "name is required"},
		{11, "date is required"},
		{12, `unknown field "why"`},
		{14, "date 2025-04-26 is both a holiday and a working day (line 9)"},
		{15, "working day 2025-04-25 is a Friday, not a Saturday or Sunday"},
	}
	for _, w := range want {
		found := false
		for _, p := range ve.Problems {
			if p.File == "2025.yaml" && p.Line == w.line && strings.Contains(p.Msg, w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at 2025.yaml:%d containing %q; got:\n%v", w.line, w.text, err)
		}
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	if !strings.Contains(err.Error(), "2025.yaml:15: working day") {
		t.Errorf("error text lacks file:line: %v", err)
	}
}

func TestParseCalendarYearSmall(t *testing.T) {
	tests := []struct {
		name, data string
		want       string // substring of the error; "" for success
	}{
		{"minimal", "year: 2030\nsource: computed\n", ""},
		{"syntax", "year: 2030\nholidays: [\n", "2030.yaml:"},
		{"empty", "", "empty file"},
		{"no year", "source: x\n", "year 0 is not a year"},
		{"no source", "year: 2030\n", "source"},
		{"year not a number", "year: soon\nsource: x\n", "cannot unmarshal"},
		{"timestamp", "year: 2030\nsource: x\nholidays: [{date: 2030-01-01T00:00:00Z, name: x}]\n", "is not a date YYYY-MM-DD"},
	}
	for _, tt := range tests {
		y, err := workflow.ParseCalendarYear("2030.yaml", []byte(tt.data))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ParseCalendarYear(%s) = %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ParseCalendarYear(%s) = %+v, %v, want an error with %q", tt.name, y, err, tt.want)
		}
	}
}

func TestLoadCalendarProblems(t *testing.T) {
	good := "year: 2030\nsource: x\nholidays:\n  - {date: 2030-06-03, name: Extra}\n"
	fsys := fstest.MapFS{
		"cal/a.yaml":    {Data: []byte(good)},
		"cal/b.yml":     {Data: []byte(good)},
		"cal/c.yaml":    {Data: []byte("year: 2031\nsource: x\nholidays:\n  - {date: 2030-01-01, name: Wrong year}\n")},
		"cal/notes.txt": {Data: []byte("ignored")},
	}
	_, err := workflow.LoadCalendar(fsys, "cal", workflow.CalendarConfig{})
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 ||
		!strings.Contains(err.Error(), "cal/b.yml: year 2030 is also defined in cal/a.yaml") ||
		!strings.Contains(err.Error(), "cal/c.yaml:4: date 2030-01-01 is not in 2031") {
		t.Fatalf("LoadCalendar = %v, want both problems", err)
	}
	delete(fsys, "cal/b.yml")
	delete(fsys, "cal/c.yaml")
	c, err := workflow.LoadCalendar(fsys, "cal", workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkDays(t, c, "2030-06-03", "OW")
	if _, err := workflow.LoadCalendar(fsys, "missing", workflow.CalendarConfig{}); err == nil {
		t.Error("LoadCalendar(missing dir) = nil error")
	}
	if _, err := workflow.LoadCalendar(fsys, "cal", workflow.CalendarConfig{CutOff: time.Hour}); err == nil {
		t.Error("LoadCalendar(bad config) = nil error")
	}
}

// BenchmarkAddWorkingDays computes the due date of a 15-working-day
// procedure.
func BenchmarkAddWorkingDays(b *testing.B) {
	c := shippedCalendar(b)
	received := instant(b, "2026-02-10 15:20")
	b.ReportAllocs()
	for b.Loop() {
		c.AddWorkingDays(received, 15)
	}
}

// BenchmarkWorking measures the working time over a month.
func BenchmarkWorking(b *testing.B) {
	c := shippedCalendar(b)
	from, to := instant(b, "2026-02-10 15:20"), instant(b, "2026-03-10 09:45")
	b.ReportAllocs()
	for b.Loop() {
		c.Working(from, to)
	}
}

func BenchmarkIsWorkingDay(b *testing.B) {
	c := shippedCalendar(b)
	day := instant(b, "2026-02-18 10:00")
	b.ReportAllocs()
	for b.Loop() {
		c.IsWorkingDay(day)
	}
}

// BenchmarkLoadCalendar loads the shipped year files (the computed years are
// shared, computed once per process).
func BenchmarkLoadCalendar(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCalendarConfirmed: a year is confirmed only when the calendar has
// a schedule for it taken from an announcement; a computed one, given as
// a file or not, is not.
func TestCalendarConfirmed(t *testing.T) {
	cal, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[int]bool{2017: false, 2027: false, 2030: false}
	for year := 2018; year <= 2026; year++ {
		confirmed[year] = true // every year the 2018 definition may count in
	}
	for year, want := range confirmed {
		if got := cal.Confirmed(year); got != want {
			t.Errorf("Confirmed(%d) = %v, want %v", year, got, want)
		}
	}
}
