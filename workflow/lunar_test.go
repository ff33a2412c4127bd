package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// date parses YYYY-MM-DD as midnight in Zone.
func date(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation(time.DateOnly, s, workflow.Zone)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// tetDates are Vietnam's Tết Nguyên Đán, written out by hand from published
// Vietnamese calendars. Where Vietnam (UTC+7) and China (UTC+8) differ, the
// new moon fell between 16:00 and 17:00 UTC or the leap month moved:
//   - 1985: 21 Jan in Vietnam (the first year of the UTC+7 reckoning in
//     general use), 20 Feb in China — the 1984 leap month differs;
//   - 2007: 17 Feb in Vietnam, 18 Feb in China: new moon 17 Feb 16:14 UTC,
//     23:14 at UTC+7 but 00:14 the next day at UTC+8;
//   - 2030: 2 Feb in Vietnam, 3 Feb in China: new moon 2 Feb 16:07 UTC, the
//     same way.
var tetDates = map[int]string{
	1984: "1984-02-02", 1985: "1985-01-21", 1986: "1986-02-09", 1987: "1987-01-29",
	1988: "1988-02-17", 1989: "1989-02-06", 1990: "1990-01-27", 1991: "1991-02-15",
	1992: "1992-02-04", 1993: "1993-01-23", 1994: "1994-02-10", 1995: "1995-01-31",
	1996: "1996-02-19", 1997: "1997-02-07", 1998: "1998-01-28", 1999: "1999-02-16",
	2000: "2000-02-05", 2001: "2001-01-24", 2002: "2002-02-12", 2003: "2003-02-01",
	2004: "2004-01-22", 2005: "2005-02-09", 2006: "2006-01-29", 2007: "2007-02-17",
	2008: "2008-02-07", 2009: "2009-01-26", 2010: "2010-02-14", 2011: "2011-02-03",
	2012: "2012-01-23", 2013: "2013-02-10", 2014: "2014-01-31", 2015: "2015-02-19",
	2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
	2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22",
	2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
	2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-02", 2031: "2031-01-23",
	2032: "2032-02-11", 2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
}

func TestLunarNewYear(t *testing.T) {
	for year := 1984; year <= 2035; year++ {
		want := date(t, tetDates[year])
		if got := workflow.LunarNewYear(year); !got.Equal(want) || got.Location() != workflow.Zone {
			t.Errorf("LunarNewYear(%d) = %v, want %v", year, got, want)
		}
		y, m, d, leap := workflow.SolarToLunar(want)
		if y != year || m != 1 || d != 1 || leap {
			t.Errorf("SolarToLunar(%s) = %d/%d/%d leap %v, want 1/1/%d", tetDates[year], d, m, y, leap, year)
		}
		y, m, d, _ = workflow.SolarToLunar(want.AddDate(0, 0, -1))
		if y != year-1 || m != 12 || (d != 29 && d != 30) {
			t.Errorf("SolarToLunar(the day before %s) = %d/%d/%d, want the last day of month 12 of %d", tetDates[year], d, m, y, year-1)
		}
	}
}

// TestHungKings: 10/3 lunar against the domain README's table.
func TestHungKings(t *testing.T) {
	want := map[int]string{2023: "2023-04-29", 2024: "2024-04-18", 2025: "2025-04-07", 2026: "2026-04-26", 2027: "2027-04-16"}
	for year, w := range want {
		got, err := workflow.LunarToSolar(year, 3, 10, false)
		if err != nil || !got.Equal(date(t, w)) {
			t.Errorf("LunarToSolar(%d, 3, 10) = %v, %v, want %s", year, got, err, w)
		}
	}
}

func TestSolarToLunarKnown(t *testing.T) {
	tests := []struct {
		solar       string
		y, m, d     int
		leap        bool
		description string
	}{
		{"2020-05-23", 2020, 4, 1, true, "leap 4th month of 2020"},
		{"2020-06-20", 2020, 4, 29, true, "last day of the leap 4th month of 2020"},
		{"2020-06-21", 2020, 5, 1, false, "the month after it"},
		{"2023-03-22", 2023, 2, 1, true, "leap 2nd month of 2023"},
		{"2025-07-25", 2025, 6, 1, true, "leap 6th month of 2025"},
		{"2017-07-23", 2017, 6, 1, true, "leap 6th month of 2017"},
		{"2024-02-08", 2023, 12, 29, false, "first day off of Tết 2024 (29 tháng Chạp)"},
		{"2024-02-09", 2023, 12, 30, false, "last day of Quý Mão"},
		{"2025-01-25", 2024, 12, 26, false, "first day off of Tết 2025 (26 tháng Chạp)"},
		{"2026-02-14", 2025, 12, 27, false, "first day off of Tết 2026 (27 tháng Chạp)"},
		{"2026-02-22", 2026, 1, 6, false, "last day off of Tết 2026 (mùng 6)"},
		{"2025-10-06", 2025, 8, 15, false, "mid-autumn 2025"},
		{"2024-12-31", 2024, 12, 1, false, "a lunar year reaching into the next solar year"},
	}
	for _, tt := range tests {
		y, m, d, leap := workflow.SolarToLunar(date(t, tt.solar).Add(13 * time.Hour))
		if y != tt.y || m != tt.m || d != tt.d || leap != tt.leap {
			t.Errorf("SolarToLunar(%s) = %d/%d/%d leap %v, want %d/%d/%d leap %v (%s)",
				tt.solar, d, m, y, leap, tt.d, tt.m, tt.y, tt.leap, tt.description)
		}
	}
	// The date counts in Zone: 2024-02-09 18:00 UTC is 10 Feb 01:00 in Vietnam.
	if y, m, d, _ := workflow.SolarToLunar(time.Date(2024, 2, 9, 18, 0, 0, 0, time.UTC)); y != 2024 || m != 1 || d != 1 {
		t.Errorf("SolarToLunar(2024-02-09 18:00 UTC) = %d/%d/%d, want Tết 2024", d, m, y)
	}
}

// TestLunarRoundTrip walks every day of 1990–2100: the lunar dates follow
// each other (day+1, or day 1 of the next month after day 29 or 30, the leap
// month repeating the month before it, at most one a year, 12 or 13 months a
// year), and LunarToSolar takes each back to its solar date.
func TestLunarRoundTrip(t *testing.T) {
	last := 2100
	if testing.Short() {
		last = 2035
	}
	day := date(t, "1990-01-01")
	py, pm, pd, pleap := workflow.SolarToLunar(day.AddDate(0, 0, -1))
	months := 0
	leaps := map[int]int{}
	for ; day.Year() <= last; day = day.AddDate(0, 0, 1) {
		y, m, d, leap := workflow.SolarToLunar(day)
		switch {
		case d == pd+1 && y == py && m == pm && leap == pleap:
		case d == 1 && (pd == 29 || pd == 30):
			months++
			switch {
			case leap && y == py && m == pm && !pleap:
				leaps[y]++
			case !leap && m == pm%12+1 && (y == py || (m == 1 && y == py+1)):
			default:
				t.Fatalf("%s: lunar %d/%d/%d leap %v follows %d/%d/%d leap %v", day.Format(time.DateOnly), d, m, y, leap, pd, pm, py, pleap)
			}
		default:
			t.Fatalf("%s: lunar %d/%d/%d leap %v follows %d/%d/%d leap %v", day.Format(time.DateOnly), d, m, y, leap, pd, pm, py, pleap)
		}
		if back, err := workflow.LunarToSolar(y, m, d, leap); err != nil || !back.Equal(day) {
			t.Fatalf("LunarToSolar(SolarToLunar(%s) = %d/%d/%d leap %v) = %v, %v", day.Format(time.DateOnly), d, m, y, leap, back, err)
		}
		py, pm, pd, pleap = y, m, d, leap
	}
	for y, n := range leaps {
		if n != 1 {
			t.Errorf("lunar year %d has %d leap months", y, n)
		}
	}
	// 7 leap months in 19 years: between 12 and 13 months a year on average.
	years := last - 1990 + 1
	if months < 12*years || months > 13*years {
		t.Errorf("%d lunar months in %d years", months, years)
	}
	for _, want := range []struct{ year, month int }{{2017, 6}, {2020, 4}, {2023, 2}, {2025, 6}, {2028, 5}, {2031, 3}, {2033, 11}} {
		if _, err := workflow.LunarToSolar(want.year, want.month, 1, true); err != nil {
			t.Errorf("no leap month %d in %d: %v", want.month, want.year, err)
		}
	}
}

func TestLunarToSolarInvalid(t *testing.T) {
	tests := []struct {
		name             string
		year, month, day int
		leap             bool
	}{
		{"month 0", 2025, 0, 1, false},
		{"month 13", 2025, 13, 1, false},
		{"day 0", 2025, 1, 0, false},
		{"day 31", 2025, 1, 31, false},
		{"day 30 of a 29-day month", 2024, 12, 30, false}, // the day before Tết 2025 is 29/12
		{"leap month in a 12-month year", 2024, 4, 1, true},
		{"another month than the leap one", 2025, 5, 1, true},
	}
	for _, tt := range tests {
		got, err := workflow.LunarToSolar(tt.year, tt.month, tt.day, tt.leap)
		if !errors.Is(err, workflow.ErrLunarDate) {
			t.Errorf("LunarToSolar(%s) = %v, %v, want ErrLunarDate", tt.name, got, err)
		}
	}
	if _, err := workflow.LunarToSolar(2023, 12, 30, false); err != nil {
		t.Errorf("LunarToSolar(30/12/2023) = %v, want 2024-02-09", err)
	}
}

func BenchmarkLunarNewYear(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		workflow.LunarNewYear(2026)
	}
}

func BenchmarkSolarToLunar(b *testing.B) {
	day := date(b, "2026-08-31")
	b.ReportAllocs()
	for b.Loop() {
		workflow.SolarToLunar(day)
	}
}
