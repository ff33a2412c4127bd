package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

// Zone is Vietnam's time zone (UTC+7, no daylight saving time): the
// calendar counts working time in it, and dates in definitions, and dates
// without a zone, are read in it.
var Zone = time.FixedZone("ICT", 7*60*60)

// WorkingHours are the two daily working periods, as offsets from midnight in
// Zone: MorningStart ≤ t < MorningEnd and AfternoonStart ≤ t < AfternoonEnd.
// The zero value means DefaultWorkingHours in a CalendarConfig.
type WorkingHours struct {
	MorningStart, MorningEnd, AfternoonStart, AfternoonEnd time.Duration
}

// DefaultWorkingHours returns the hours of a provincial one-stop desk:
// 07:00–11:30 and 13:30–17:00, 8 hours a day.
func DefaultWorkingHours() WorkingHours {
	return WorkingHours{
		MorningStart:   7 * time.Hour,
		MorningEnd:     11*time.Hour + 30*time.Minute,
		AfternoonStart: 13*time.Hour + 30*time.Minute,
		AfternoonEnd:   17 * time.Hour,
	}
}

// Day returns the length of a working day: both periods together (8 hours
// for DefaultWorkingHours, 0 for the zero value).
func (h WorkingHours) Day() time.Duration {
	return h.MorningEnd - h.MorningStart + h.AfternoonEnd - h.AfternoonStart
}

// CalendarConfig sets how a Calendar counts working time. The zero value is
// the default: DefaultWorkingHours, and a dossier received after 17:00
// counting from the next working morning.
type CalendarConfig struct {
	// Hours are the working periods of every working day; the zero value
	// means DefaultWorkingHours().
	Hours WorkingHours
	// CutOff is the offset from midnight from which a dossier received on a
	// working day counts from the next working morning instead (some plans
	// use 15:00). 0 means the end of the afternoon period.
	CutOff time.Duration
}

func (c CalendarConfig) resolved() CalendarConfig {
	if c.Hours == (WorkingHours{}) {
		c.Hours = DefaultWorkingHours()
	}
	if c.CutOff == 0 {
		c.CutOff = c.Hours.AfternoonEnd
	}
	return c
}

// Validate reports whether the working periods are two ordered, non-empty
// periods within one day (a morning and an afternoon, which may touch) and
// the cut-off falls after the start of the morning and no later than the end
// of the afternoon.
func (c CalendarConfig) Validate() error {
	r := c.resolved()
	h := r.Hours
	var errs []error
	if h.MorningStart < 0 || h.MorningStart >= h.MorningEnd || h.MorningEnd > h.AfternoonStart ||
		h.AfternoonStart >= h.AfternoonEnd || h.AfternoonEnd > 24*time.Hour {
		errs = append(errs, fmt.Errorf("calendar: working hours %s–%s and %s–%s are not two ordered periods within a day",
			clock(h.MorningStart), clock(h.MorningEnd), clock(h.AfternoonStart), clock(h.AfternoonEnd)))
	}
	if r.CutOff <= h.MorningStart || r.CutOff > h.AfternoonEnd {
		errs = append(errs, fmt.Errorf("calendar: cut-off %s is not after the start of the morning (%s) and no later than the end of the afternoon (%s)",
			clock(r.CutOff), clock(h.MorningStart), clock(h.AfternoonEnd)))
	}
	return errors.Join(errs...)
}

// clock formats an offset from midnight as 15:04 when it is whole minutes.
func clock(d time.Duration) string {
	if d < 0 || d%time.Minute != 0 {
		return d.String()
	}
	return fmt.Sprintf("%02d:%02d", d/time.Hour, d%time.Hour/time.Minute)
}

// DayOff is one dated entry of a YearSchedule.
type DayOff struct {
	Date time.Time // midnight in Zone; only the date in Zone counts
	Name string    // the holiday, or why a weekend day is worked
}

// YearSchedule is one solar year's public holidays as civil servants take
// them. Weekends (Saturday and Sunday) are days off unless listed in
// WorkingDays.
type YearSchedule struct {
	Year int
	// Source is the government announcement the schedule follows, or
	// "computed" for ComputedYear.
	Source string
	// Holidays are the public holidays and the days off the government grants
	// with them (compensatory and swapped days), sorted by date. Weekend days
	// inside a block of days off may be listed too.
	Holidays []DayOff
	// WorkingDays are weekend days made working days, such as a Saturday
	// worked in exchange for a day off; Name says why.
	WorkingDays []DayOff
}

func (y YearSchedule) clone() YearSchedule {
	y.Holidays = slices.Clone(y.Holidays)
	y.WorkingDays = slices.Clone(y.WorkingDays)
	return y
}

// The years a YearSchedule may have, and those a Calendar holds precomputed.
const (
	minYear      = 1
	maxYear      = 9999
	computedFrom = 1990
	computedTo   = 2100
)

// ComputedYear returns the public holidays of the Labour Code 2019, Art. 112,
// in year: 1 January; Tết Nguyên Đán, the last day of the lunar year and the
// first four days of the new one; the Hùng Kings' day (10/3 lunar); 30 April;
// 1 May; 2 September and the day before it. Each holiday falling on a
// Saturday or Sunday gives the next working day off (skipping days already
// off), and so does a holiday falling on another holiday, which the Code does
// not address (our reading: the day off is owed either way). Source is
// "computed". The government's yearly announcements often place Tết and the
// second National Day differently; year files override this.
func ComputedYear(year int) YearSchedule {
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, Zone) }
	tet := LunarNewYear(year)
	hung, _ := LunarToSolar(year, 3, 10, false) // month 3 is never a leap-only month
	hs := []DayOff{
		{date(time.January, 1), "Tết Dương lịch"},
		{tet.AddDate(0, 0, -1), "Tết Nguyên đán"},
		{tet, "Tết Nguyên đán"},
		{tet.AddDate(0, 0, 1), "Tết Nguyên đán"},
		{tet.AddDate(0, 0, 2), "Tết Nguyên đán"},
		{tet.AddDate(0, 0, 3), "Tết Nguyên đán"},
		{hung, "Giỗ Tổ Hùng Vương"},
		{date(time.April, 30), "Ngày Chiến thắng"},
		{date(time.May, 1), "Ngày Quốc tế Lao động"},
		{date(time.September, 1), "Quốc khánh"},
		{date(time.September, 2), "Quốc khánh"},
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Date.Before(hs[j].Date) })
	taken := make(map[int64]bool, len(hs))
	for _, h := range hs {
		taken[dayOf(h.Date)] = true
	}
	var merged, owed []DayOff
	for i, h := range hs {
		dn := dayOf(h.Date)
		again := i > 0 && dayOf(hs[i-1].Date) == dn
		if again {
			merged[len(merged)-1].Name += "; " + h.Name
		} else {
			merged = append(merged, h)
		}
		if !again && !isWeekend(dn) {
			continue
		}
		next := dn + 1
		for isWeekend(next) || taken[next] {
			next++
		}
		taken[next] = true
		owed = append(owed, DayOff{Date: midnightOf(next), Name: "Nghỉ bù " + h.Name})
	}
	merged = append(merged, owed...)
	sort.SliceStable(merged, func(i, j int) bool { return merged[i].Date.Before(merged[j].Date) })
	return YearSchedule{Year: year, Source: "computed", Holidays: merged}
}

type rawYear struct {
	Year        int         `yaml:"year"`
	Source      string      `yaml:"source"`
	Holidays    []rawDayOff `yaml:"holidays"`
	WorkingDays []rawDayOff `yaml:"working_days"`
}

type rawDayOff struct {
	Date string `yaml:"date"`
	Name string `yaml:"name"`
}

// ParseCalendarYear decodes one year file strictly (unknown fields are
// errors) and checks it: a year and a source, every entry a date YYYY-MM-DD
// of that year with a name, no date listed twice or both as a holiday and a
// working day, and every working day a Saturday or Sunday. On failure the
// error is a *ValidationError listing every problem with the file name and
// line.
func ParseCalendarYear(file string, data []byte) (*YearSchedule, error) {
	var probs []Problem
	fail := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var raw rawYear
	root, decoded := yamlfile.Strict(data, &raw)
	for _, p := range decoded {
		fail(p.Line, "%s", p.Msg)
	}
	if root == nil {
		return nil, &ValidationError{Problems: probs}
	}
	line := func(p ...any) int { return yamlfile.Line(root, p...) }

	y := &YearSchedule{Year: raw.Year, Source: raw.Source}
	yearOK := raw.Year >= minYear && raw.Year <= maxYear
	if !yearOK {
		fail(line("year"), "year %d is not a year from %d to %d", raw.Year, minYear, maxYear)
	}
	if raw.Source == "" {
		fail(line("source"), "source (the announcement the schedule follows, or \"computed\") is required")
	}
	type seen struct {
		line int
		list string
	}
	first := make(map[int64]seen)
	entries := func(list string, in []rawDayOff, working bool) []DayOff {
		var out []DayOff
		for i, r := range in {
			l := line(list, i, "date")
			if r.Name == "" {
				fail(line(list, i), "name is required")
			}
			if r.Date == "" {
				fail(l, "date is required")
				continue
			}
			t, err := time.ParseInLocation(time.DateOnly, r.Date, Zone)
			if err != nil {
				fail(l, "date %q is not a date YYYY-MM-DD", r.Date)
				continue
			}
			if yearOK && t.Year() != raw.Year {
				fail(l, "date %s is not in %d", r.Date, raw.Year)
				continue
			}
			dn := dayOf(t)
			if s, ok := first[dn]; ok {
				if s.list == list {
					fail(l, "date %s listed twice (first at line %d)", r.Date, s.line)
				} else {
					fail(l, "date %s is both a holiday and a working day (line %d)", r.Date, s.line)
				}
				continue
			}
			first[dn] = seen{l, list}
			if working && !isWeekend(dn) {
				fail(l, "working day %s is a %s, not a Saturday or Sunday", r.Date, t.Weekday())
				continue
			}
			out = append(out, DayOff{Date: t, Name: r.Name})
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
		return out
	}
	y.Holidays = entries("holidays", raw.Holidays, false)
	y.WorkingDays = entries("working_days", raw.WorkingDays, true)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &ValidationError{Problems: probs}
	}
	return y, nil
}

// LoadCalendar reads every *.yaml and *.yml file in dir of fsys as a year
// file and builds a Calendar with cfg; years without a file are computed. An
// empty dir is allowed. Every problem of every file, and a year given by two
// files, is reported at once in a *ValidationError.
func LoadCalendar(fsys fs.FS, dir string, cfg CalendarConfig) (*Calendar, error) {
	files, err := ReadCalendarYears(fsys, dir)
	if err != nil {
		return nil, err
	}
	years := make([]YearSchedule, len(files))
	for i, f := range files {
		years[i] = f.Schedule
	}
	return NewCalendar(cfg, years...)
}

// CalendarYear is one year file: its text, as a calendar event carries it,
// and the schedule ParseCalendarYear reads from it.
type CalendarYear struct {
	Text     string
	Schedule YearSchedule
}

// ReadCalendarYears reads every *.yaml and *.yml file in dir of fsys as a
// year file, as LoadCalendar does, and returns them sorted by year with
// their text. Every problem of every file, and a year given by two files,
// is reported at once in a *ValidationError.
func ReadCalendarYears(fsys fs.FS, dir string) ([]CalendarYear, error) {
	var years []CalendarYear
	files := make(map[int]string)
	err := eachYAML(fsys, dir, func(name string, data []byte) error {
		y, err := ParseCalendarYear(name, data)
		switch {
		case err != nil:
			return err
		case files[y.Year] != "":
			return &ValidationError{Problems: []Problem{{File: name, Msg: fmt.Sprintf("year %d is also defined in %s", y.Year, files[y.Year])}}}
		}
		files[y.Year] = name
		years = append(years, CalendarYear{Text: string(data), Schedule: *y})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load calendar: %w", err)
	}
	sort.Slice(years, func(i, j int) bool { return years[i].Schedule.Year < years[j].Schedule.Year })
	return years, nil
}

// FormatCalendarYear returns y as the text of a year file, which
// ParseCalendarYear reads back as y: the form in which hoso writes a
// schedule it holds (a computed year, the schedule a calendar event
// replaces, the calendar a store records). Names and the source are
// double-quoted; dates are YYYY-MM-DD in Zone. The text depends only on
// y: two equal schedules format to the same bytes.
func FormatCalendarYear(y YearSchedule) []byte {
	var b []byte
	b = fmt.Appendf(b, "year: %d\nsource: %s\n", y.Year, strconv.Quote(y.Source))
	list := func(key string, days []DayOff) {
		if len(days) == 0 {
			b = fmt.Appendf(b, "%s: []\n", key)
			return
		}
		b = fmt.Appendf(b, "%s:\n", key)
		for _, d := range days {
			b = fmt.Appendf(b, "  - {date: %s, name: %s}\n", d.Date.In(Zone).Format(time.DateOnly), strconv.Quote(d.Name))
		}
	}
	list("holidays", y.Holidays)
	list("working_days", y.WorkingDays)
	return b
}

// Equal reports whether y and o are the same schedule: the same year and
// source, and the same holidays and working days, dates (in Zone) and
// names, in the same order.
func (y YearSchedule) Equal(o YearSchedule) bool {
	same := func(a, b []DayOff) bool {
		return slices.EqualFunc(a, b, func(x, y DayOff) bool { return dayOf(x.Date) == dayOf(y.Date) && x.Name == y.Name })
	}
	return y.Year == o.Year && y.Source == o.Source && same(y.Holidays, o.Holidays) && same(y.WorkingDays, o.WorkingDays)
}

// A Calendar tells working days from days off and counts working time: the
// working periods of working days in Zone. Weekends are days off; each year
// follows its YearSchedule if one was given, otherwise ComputedYear.
//
// A Calendar is immutable and safe for concurrent use. Years 1990–2100 and
// every given year are precomputed (one table lookup per day); other years
// from 1 to 9999 are computed on first use and kept; outside them only
// weekends are off.
type Calendar struct {
	cfg   CalendarConfig // resolved: no zero Hours or CutOff
	years []YearSchedule // the given schedules, sorted by year
	days  *span          // computedFrom–computedTo and every given year

	mu  sync.Mutex
	far map[int]*span // guarded by mu: other years, computed on first use
}

// NewCalendar returns a calendar counting with cfg, whose years follow the
// given schedules, and ComputedYear for the others. It is an error if cfg is
// invalid, a year is given twice or out of 1–9999, a date of a schedule is not
// in its year or is both a holiday and a working day, or a working day is not
// a Saturday or Sunday.
func NewCalendar(cfg CalendarConfig, years ...YearSchedule) (*Calendar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new calendar: %w", err)
	}
	c := &Calendar{cfg: cfg.resolved(), far: make(map[int]*span)}
	var errs []error
	given := make(map[int]bool, len(years))
	from, to := computedFrom, computedTo
	for _, y := range years {
		if err := y.check(); err != nil {
			errs = append(errs, err)
			continue
		}
		if given[y.Year] {
			errs = append(errs, fmt.Errorf("year %d given twice", y.Year))
			continue
		}
		given[y.Year] = true
		from, to = min(from, y.Year), max(to, y.Year)
		c.years = append(c.years, y.clone())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new calendar: %w", err)
	}
	sort.Slice(c.years, func(i, j int) bool { return c.years[i].Year < c.years[j].Year })
	if from == computedFrom && to == computedTo {
		c.days = computedDays().clone()
	} else {
		c.days = newSpan(from, to)
		for y := from; y <= to; y++ {
			if !given[y] {
				c.days.apply(ComputedYear(y))
			}
		}
	}
	for _, y := range c.years {
		c.days.apply(y)
	}
	return c, nil
}

// check reports what NewCalendar refuses in a schedule.
func (y YearSchedule) check() error {
	if y.Year < minYear || y.Year > maxYear {
		return fmt.Errorf("year %d is not a year from %d to %d", y.Year, minYear, maxYear)
	}
	var errs []error
	holiday := make(map[int64]bool, len(y.Holidays))
	for _, h := range y.Holidays {
		if h.Date.In(Zone).Year() != y.Year {
			errs = append(errs, fmt.Errorf("year %d: holiday %s is not in the year", y.Year, h.Date.In(Zone).Format(time.DateOnly)))
		}
		holiday[dayOf(h.Date)] = true
	}
	for _, w := range y.WorkingDays {
		d := w.Date.In(Zone).Format(time.DateOnly)
		switch dn := dayOf(w.Date); {
		case w.Date.In(Zone).Year() != y.Year:
			errs = append(errs, fmt.Errorf("year %d: working day %s is not in the year", y.Year, d))
		case !isWeekend(dn):
			errs = append(errs, fmt.Errorf("year %d: working day %s is not a Saturday or Sunday", y.Year, d))
		case holiday[dn]:
			errs = append(errs, fmt.Errorf("year %d: %s is both a holiday and a working day", y.Year, d))
		}
	}
	return errors.Join(errs...)
}

// computedDays holds ComputedYear for computedFrom–computedTo, computed once
// and cloned by every NewCalendar.
var computedDays = sync.OnceValue(func() *span {
	s := newSpan(computedFrom, computedTo)
	for y := computedFrom; y <= computedTo; y++ {
		s.apply(ComputedYear(y))
	}
	return s
})

// Config returns the calendar's configuration with the defaults filled in.
func (c *Calendar) Config() CalendarConfig { return c.cfg }

// Years returns the schedules the calendar was given, sorted by year.
func (c *Calendar) Years() []YearSchedule {
	out := make([]YearSchedule, len(c.years))
	for i, y := range c.years {
		out[i] = y.clone()
	}
	return out
}

// Year returns the schedule the calendar follows in year: the one it was
// given, or ComputedYear(year).
func (c *Calendar) Year(year int) YearSchedule {
	if i, ok := slices.BinarySearchFunc(c.years, year, func(y YearSchedule, year int) int { return y.Year - year }); ok {
		return c.years[i].clone()
	}
	return ComputedYear(year)
}

// WithYear returns a calendar with the same configuration and schedules
// but for y.Year, which follows y; a y equal to ComputedYear(y.Year) makes
// the year computed, as if no schedule were given for it. It is an error
// if y is not a schedule NewCalendar accepts.
func (c *Calendar) WithYear(y YearSchedule) (*Calendar, error) {
	years := slices.DeleteFunc(c.Years(), func(g YearSchedule) bool { return g.Year == y.Year })
	if !y.Equal(ComputedYear(y.Year)) {
		years = append(years, y)
	}
	return NewCalendar(c.cfg, years...)
}

// Confirmed reports whether the calendar follows a government
// announcement for the year: a schedule was given for it whose source is
// not "computed". A year computed from the lunar calendar may miss the
// days the government swaps, and its due dates with them.
func (c *Calendar) Confirmed(year int) bool {
	i, ok := slices.BinarySearchFunc(c.years, year, func(y YearSchedule, year int) int { return y.Year - year })
	return ok && !c.years[i].Computed()
}

// Computed reports whether the schedule was computed (ComputedYear, or a
// file whose source starts with "computed") rather than taken from an
// announcement.
func (y YearSchedule) Computed() bool { return strings.HasPrefix(y.Source, "computed") }

// IsWorkingDay reports whether the date of day in Zone is a working day.
func (c *Calendar) IsWorkingDay(day time.Time) bool {
	return c.working(dayOf(day))
}

// DayOff reports whether the date of day in Zone is a day off and why: the
// holiday's name, or "Thứ bảy" or "Chủ nhật" for a weekend. For a working
// day off is false and name is empty, or says why a weekend day is worked.
func (c *Calendar) DayOff(day time.Time) (name string, off bool) {
	v, s := c.lookup(dayOf(day))
	return s.names[v&^offDay], v&offDay != 0
}

// Start returns the instant a dossier received at t starts counting: t itself
// if t is inside a working period of a working day and before the cut-off;
// the start of the afternoon if t is in the lunch break before the cut-off;
// the start of the morning if t is earlier on a working day; otherwise the
// next working morning. The result is in Zone.
func (c *Calendar) Start(t time.Time) time.Time {
	return at(c.start(t))
}

// start returns Start(t) as a day number and an offset within one of the
// day's working periods.
func (c *Calendar) start(t time.Time) (int64, time.Duration) {
	dn, off := split(t)
	h := c.cfg.Hours
	if c.working(dn) && off < c.cfg.CutOff {
		switch {
		case off < h.MorningStart:
			return dn, h.MorningStart
		case off < h.MorningEnd:
			return dn, off
		case off < h.AfternoonStart:
			return dn, h.AfternoonStart
		case off < h.AfternoonEnd:
			return dn, off
		}
	}
	return c.nextWorking(dn), h.MorningStart
}

// AddWorking returns the instant d of working time after Start(t), counting
// only the working periods of working days. A result at the end of a period
// stays there: Monday 07:00 plus 8 hours is Monday 17:00, not Tuesday 07:00.
// AddWorking(t, 0) is Start(t); a negative d counts as 0. The result is in
// Zone.
func (c *Calendar) AddWorking(t time.Time, d time.Duration) time.Time {
	dn, off := c.start(t)
	return c.addWorking(dn, off, d)
}

// Shift returns the instant by which d of working time has passed after
// t: AddWorking without the cut-off, which is for receipts. It is the
// inverse of Working: Shift(t, Working(t, u)) is u for any u in a
// working period (or at its end) after t. A negative d counts as 0. The
// result is in Zone.
func (c *Calendar) Shift(t time.Time, d time.Duration) time.Time {
	dn, off := split(t)
	h := c.cfg.Hours
	switch {
	case !c.working(dn) || off >= h.AfternoonEnd:
		dn, off = c.nextWorking(dn), h.MorningStart
	case off < h.MorningStart:
		off = h.MorningStart
	case off >= h.MorningEnd && off < h.AfternoonStart:
		off = h.AfternoonStart
	}
	return c.addWorking(dn, off, d)
}

// addWorking returns the instant d of working time after the offset off,
// inside a working period, of the working day dn.
func (c *Calendar) addWorking(dn int64, off, d time.Duration) time.Time {
	d = max(d, 0)
	h := c.cfg.Hours
	day := h.Day()
	for {
		if off < h.MorningEnd {
			left := h.MorningEnd - off
			if d <= left {
				return at(dn, off+d)
			}
			d -= left
			off = h.AfternoonStart
		}
		left := h.AfternoonEnd - off
		if d <= left {
			return at(dn, off+d)
		}
		d -= left
		dn = c.nextWorking(dn)
		for d > day {
			d -= day
			dn = c.nextWorking(dn)
		}
		off = h.MorningStart
	}
}

// EndOfDay returns the end of the working hours of t's date in Zone (17:00
// with DefaultWorkingHours), whether or not that date is a working day:
// the instant a due date given as a date falls due. An appointment "hẹn
// trả ngày 15/9" (form 01, form 04) means during 15/9.
func (c *Calendar) EndOfDay(t time.Time) time.Time {
	dn, _ := split(t)
	return at(dn, c.cfg.Hours.AfternoonEnd)
}

// SameDayDue returns the due instant of a same-day procedure received at
// t: the end of t's working day when t is a working day before cutOff (an
// offset from midnight), otherwise the end of the next working day.
func (c *Calendar) SameDayDue(t time.Time, cutOff time.Duration) time.Time {
	dn, off := split(t)
	if !c.working(dn) || off >= cutOff {
		dn = c.nextWorking(dn)
	}
	return at(dn, c.cfg.Hours.AfternoonEnd)
}

// Due returns the due instant of a statutory handling time s counted from
// t: SameDayDue for a same-day time, AddWorking otherwise.
func (c *Calendar) Due(t time.Time, s SLA) time.Time {
	if s.SameDay {
		return c.SameDayDue(t, s.cutOff())
	}
	return c.AddWorking(t, s.Working(c.cfg.Hours.Day()))
}

// AddWorkingDays returns AddWorking(t, n working days of the configured
// length).
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	return c.AddWorking(t, time.Duration(n)*c.cfg.Hours.Day())
}

// Working returns the working time between a and b: how much of the working
// periods of working days lies in [a, b). It is 0 if b is not after a. The
// cut-off does not apply: Working(Start(t), AddWorking(t, d)) is d.
func (c *Calendar) Working(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	da, oa := split(a)
	db, ob := split(b)
	if da == db {
		if c.working(da) {
			return c.within(oa, ob)
		}
		return 0
	}
	var total time.Duration
	if c.working(da) {
		total += c.within(oa, 24*time.Hour)
	}
	day := c.cfg.Hours.Day()
	for dn := da + 1; dn < db; dn++ {
		if c.working(dn) {
			total += day
		}
	}
	if c.working(db) {
		total += c.within(0, ob)
	}
	return total
}

// within returns how much of the working periods of one day lies in
// [lo, hi), offsets from midnight.
func (c *Calendar) within(lo, hi time.Duration) time.Duration {
	h := c.cfg.Hours
	overlap := func(s, e time.Duration) time.Duration {
		return max(0, min(hi, e)-max(lo, s))
	}
	return overlap(h.MorningStart, h.MorningEnd) + overlap(h.AfternoonStart, h.AfternoonEnd)
}

func (c *Calendar) working(dn int64) bool {
	v, _ := c.lookup(dn)
	return v&offDay == 0
}

// nextWorking returns the first working day after day dn.
func (c *Calendar) nextWorking(dn int64) int64 {
	for dn++; !c.working(dn); dn++ {
	}
	return dn
}

// lookup returns the entry of day dn and the span whose names it indexes.
func (c *Calendar) lookup(dn int64) (uint32, *span) {
	if i := dn - c.days.first; i >= 0 && i < int64(len(c.days.days)) {
		return c.days.days[i], c.days
	}
	y := midnightOf(dn).Year()
	if y < minYear || y > maxYear {
		return weekend(dn), c.days
	}
	c.mu.Lock()
	s := c.far[y]
	if s == nil {
		s = newSpan(y, y)
		s.apply(ComputedYear(y))
		c.far[y] = s
	}
	c.mu.Unlock()
	return s.days[dn-s.first], s
}

// offDay marks a span entry as a day off; the other bits index span.names.
const offDay = 1 << 31

// A span is the table of days of consecutive years.
type span struct {
	first int64            // day number of 1 January of the first year
	days  []uint32         // one entry per day: offDay | index into names
	names []string         // names[0] is "", then "Thứ bảy", "Chủ nhật"
	index map[string]int32 // names by position, used while building
}

func newSpan(from, to int) *span {
	first := civilDay(from, time.January, 1)
	s := &span{
		first: first,
		days:  make([]uint32, civilDay(to, time.December, 31)-first+1),
		names: []string{"", "Thứ bảy", "Chủ nhật"},
		index: map[string]int32{"": 0, "Thứ bảy": 1, "Chủ nhật": 2},
	}
	for i := range s.days {
		s.days[i] = weekend(first + int64(i))
	}
	return s
}

func (s *span) clone() *span {
	c := *s
	c.days = slices.Clone(s.days)
	c.names = slices.Clone(s.names)
	c.index = make(map[string]int32, len(s.index))
	for k, v := range s.index {
		c.index[k] = v
	}
	return &c
}

// apply replaces the days of y.Year with y's schedule.
func (s *span) apply(y YearSchedule) {
	lo := civilDay(y.Year, time.January, 1)
	hi := civilDay(y.Year, time.December, 31)
	for dn := lo; dn <= hi; dn++ {
		s.days[dn-s.first] = weekend(dn)
	}
	set := func(d DayOff, flag uint32) {
		if dn := dayOf(d.Date); dn >= lo && dn <= hi {
			s.days[dn-s.first] = flag | s.name(d.Name)
		}
	}
	for _, h := range y.Holidays {
		set(h, offDay)
	}
	for _, w := range y.WorkingDays {
		set(w, 0)
	}
}

func (s *span) name(n string) uint32 {
	i, ok := s.index[n]
	if !ok {
		i = int32(len(s.names))
		s.names = append(s.names, n)
		s.index[n] = i
	}
	return uint32(i)
}

// weekend returns the span entry of day dn without a schedule.
func weekend(dn int64) uint32 {
	switch weekdayOf(dn) {
	case time.Saturday:
		return offDay | 1
	case time.Sunday:
		return offDay | 2
	}
	return 0
}

// Days are counted as day numbers: days since 1 January 1970 in Zone.

const (
	zoneOffset = 7 * 60 * 60 // Zone's offset from UTC in seconds; it has no daylight saving time
	secPerDay  = 24 * 60 * 60
)

// dayOf returns the day number of the date of t in Zone.
func dayOf(t time.Time) int64 {
	s := t.Unix() + zoneOffset
	dn := s / secPerDay
	if s%secPerDay < 0 {
		dn--
	}
	return dn
}

// split returns the day number of t and its offset from midnight in Zone.
func split(t time.Time) (int64, time.Duration) {
	dn := dayOf(t)
	sec := t.Unix() + zoneOffset - dn*secPerDay
	return dn, time.Duration(sec)*time.Second + time.Duration(t.Nanosecond())
}

// civilDay returns the day number of a date.
func civilDay(year int, month time.Month, day int) int64 {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / secPerDay
}

// midnightOf returns the start of day dn in Zone.
func midnightOf(dn int64) time.Time {
	return time.Unix(dn*secPerDay-zoneOffset, 0).In(Zone)
}

// at returns the instant off after the start of day dn, in Zone.
func at(dn int64, off time.Duration) time.Time {
	return time.Unix(dn*secPerDay-zoneOffset, int64(off)).In(Zone)
}

func weekdayOf(dn int64) time.Weekday {
	return time.Weekday(((dn+4)%7 + 7) % 7) // 1 January 1970 was a Thursday
}

func isWeekend(dn int64) bool {
	wd := weekdayOf(dn)
	return wd == time.Saturday || wd == time.Sunday
}
