package workflow

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The Vietnamese lunar calendar, after Hồ Ngọc Đức's algorithm ("Âm lịch Việt
// Nam", informatik.uni-leipzig.de/~duc/amlich): a month starts on the day, in
// UTC+7, of an astronomical new moon; the 11th month is the one holding the
// winter solstice; a year of 13 months repeats (as a leap month) the first
// month after the 11th that holds no major solar term (no multiple of 30° of
// the sun's longitude). New moons come from Meeus' series (about a minute of
// error over 1800–2200); the sun's longitude from the low-precision formula.
//
// Vietnam has reckoned the calendar at UTC+7 since 1968, which is why its Tết
// falls a day before China's (UTC+8) in some years, e.g. 2007 (17 vs 18 Feb)
// and a month before in 1985 (21 Jan vs 20 Feb). Dates are proleptic
// Gregorian throughout.

// ErrLunarDate is returned by LunarToSolar for a lunar date that does not
// exist: a month outside 1–12, a day outside the month's 29 or 30 days, or a
// leap month in a year whose leap month is another one (or which has none).
var ErrLunarDate = errors.New("workflow: no such lunar date")

const (
	lunarTimeZone = 7.0               // hours east of UTC the calendar is reckoned in
	synodicMonth  = 29.530588853      // mean days between new moons
	newMoonEpoch  = 2415021.076998695 // Julian day of the new moon of 1 Jan 1900, k = 0
	unixEpochJDN  = 2440588           // Julian day number of 1 Jan 1970
)

// julianDayNumber returns the Julian day number of a civil (Gregorian) date.
func julianDayNumber(year int, month time.Month, day int) int {
	return int(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix()/(24*60*60)) + unixEpochJDN
}

// dateOfJDN returns midnight in Zone of the civil date of a Julian day number.
func dateOfJDN(jdn int) time.Time {
	return time.Date(1970, time.January, 1+jdn-unixEpochJDN, 0, 0, 0, 0, Zone)
}

// newMoon returns the Julian day (in UT, fractional) of the k-th new moon
// after the one of 1 Jan 1900.
func newMoon(k int) float64 {
	const dr = math.Pi / 180
	kf := float64(k)
	t := kf / 1236.85 // Julian centuries from 1900-01-01 12:00 UT
	t2 := t * t
	t3 := t2 * t
	jd := 2415020.75933 + 29.53058868*kf + 0.0001178*t2 - 0.000000155*t3
	jd += 0.00033 * math.Sin((166.56+132.87*t-0.009173*t2)*dr)
	m := 359.2242 + 29.10535608*kf - 0.0000333*t2 - 0.00000347*t3    // sun's mean anomaly
	mpr := 306.0253 + 385.81691806*kf + 0.0107306*t2 + 0.00001236*t3 // moon's mean anomaly
	f := 21.2964 + 390.67050646*kf - 0.0016528*t2 - 0.00000239*t3    // moon's argument of latitude
	c := (0.1734-0.000393*t)*math.Sin(m*dr) + 0.0021*math.Sin(2*dr*m)
	c += -0.4068*math.Sin(mpr*dr) + 0.0161*math.Sin(dr*2*mpr)
	c += -0.0004 * math.Sin(dr*3*mpr)
	c += 0.0104*math.Sin(dr*2*f) - 0.0051*math.Sin(dr*(m+mpr))
	c += -0.0074*math.Sin(dr*(m-mpr)) + 0.0004*math.Sin(dr*(2*f+m))
	c += -0.0004*math.Sin(dr*(2*f-m)) - 0.0006*math.Sin(dr*(2*f+mpr))
	c += 0.0010*math.Sin(dr*(2*f-mpr)) + 0.0005*math.Sin(dr*(2*mpr+m))
	var deltaT float64 // ephemeris time minus universal time, in days
	if t < -11 {
		deltaT = 0.001 + 0.000839*t + 0.0002261*t2 - 0.00000845*t3 - 0.000000081*t*t3
	} else {
		deltaT = -0.000278 + 0.000265*t + 0.000262*t2
	}
	return jd + c - deltaT
}

// newMoonDay returns the Julian day number of the local (UTC+7) day of the
// k-th new moon.
func newMoonDay(k int) int {
	return int(math.Floor(newMoon(k) + 0.5 + lunarTimeZone/24))
}

// sunLongitude returns the sun's apparent longitude, in radians in [0, 2π),
// at Julian day jd (UT).
func sunLongitude(jd float64) float64 {
	const dr = math.Pi / 180
	t := (jd - 2451545.0) / 36525 // Julian centuries from 2000-01-01 12:00 UT
	t2 := t * t
	m := 357.52910 + 35999.05030*t - 0.0001559*t2 - 0.00000048*t*t2 // mean anomaly
	l0 := 280.46645 + 36000.76983*t + 0.0003032*t2                  // mean longitude
	dl := (1.914600 - 0.004817*t - 0.000014*t2) * math.Sin(dr*m)
	dl += (0.019993-0.000101*t)*math.Sin(dr*2*m) + 0.000290*math.Sin(dr*3*m)
	l := (l0 + dl) * dr
	return l - 2*math.Pi*math.Floor(l/(2*math.Pi))
}

// sunSector returns which 30° sector (0–11) of the ecliptic the sun is in at
// the start of local day jdn: the major solar term the day falls after.
func sunSector(jdn int) int {
	return int(math.Floor(sunLongitude(float64(jdn)-0.5-lunarTimeZone/24) / math.Pi * 6))
}

// month11 returns the Julian day number of the first day of the 11th lunar
// month (the one holding the winter solstice) of solar year y.
func month11(y int) int {
	k := int(math.Floor((float64(julianDayNumber(y, time.December, 31)) - newMoonEpoch) / synodicMonth))
	nm := newMoonDay(k)
	if sunSector(nm) >= 9 { // the new moon is after the solstice: take the one before
		nm = newMoonDay(k - 1)
	}
	return nm
}

// leapMonthOffset returns, for a 13-month lunar year whose 11th month starts
// on a11, how many months after the 11th the leap month is: the first month
// in which the sun enters no new sector.
func leapMonthOffset(a11 int) int {
	k := int(math.Floor((float64(a11)-newMoonEpoch)/synodicMonth + 0.5))
	i := 1
	arc := sunSector(newMoonDay(k + i))
	for {
		last := arc
		i++
		arc = sunSector(newMoonDay(k + i))
		if arc == last || i >= 14 {
			return i - 1
		}
	}
}

// SolarToLunar returns the lunar date of the date of t in Zone: the lunar
// year (the solar year in which that lunar year's Tết falls), month 1–12,
// day 1–30, and whether the month is the year's leap month.
func SolarToLunar(t time.Time) (year, month, day int, leap bool) {
	y, m, d := t.In(Zone).Date()
	jdn := julianDayNumber(y, m, d)
	// The month holding jdn starts at the last new moon on or before it. The
	// mean month only estimates which, and true new moons stray from the mean
	// by up to about 14 hours: step to the right one. (The original takes at
	// most one step back and gives day 0 for 7 May 2054.)
	k := int(math.Floor((float64(jdn) - newMoonEpoch) / synodicMonth))
	for newMoonDay(k+1) <= jdn {
		k++
	}
	for newMoonDay(k) > jdn {
		k--
	}
	start := newMoonDay(k)
	a11 := month11(y)
	b11 := a11
	if a11 >= start {
		year = y
		a11 = month11(y - 1)
	} else {
		year = y + 1
		b11 = month11(y + 1)
	}
	day = jdn - start + 1
	diff := (start - a11) / 29 // months since the 11th month
	month = diff + 11
	if b11-a11 > 365 { // 13 months between the two 11th months
		lm := leapMonthOffset(a11)
		if diff >= lm {
			month = diff + 10
			leap = diff == lm
		}
	}
	if month > 12 {
		month -= 12
	}
	if month >= 11 && diff < 4 {
		year--
	}
	return year, month, day, leap
}

// LunarToSolar returns midnight in Zone of the solar date of lunar day day of
// month month (the leap month if leap) of lunar year year. It returns an error
// wrapping ErrLunarDate if there is no such date.
func LunarToSolar(year, month, day int, leap bool) (time.Time, error) {
	bad := func() (time.Time, error) {
		l := ""
		if leap {
			l = " (leap)"
		}
		return time.Time{}, fmt.Errorf("lunar date %d/%d%s/%d: %w", day, month, l, year, ErrLunarDate)
	}
	if month < 1 || month > 12 || day < 1 || day > 30 {
		return bad()
	}
	var a11, b11 int
	if month < 11 {
		a11, b11 = month11(year-1), month11(year)
	} else {
		a11, b11 = month11(year), month11(year+1)
	}
	off := month - 11
	if off < 0 {
		off += 12
	}
	if b11-a11 > 365 {
		lo := leapMonthOffset(a11)
		lm := lo - 2 // the month number the leap month repeats
		if lm <= 0 {
			lm += 12
		}
		switch {
		case leap && month != lm:
			return bad()
		case leap || off >= lo:
			off++
		}
	} else if leap {
		return bad()
	}
	k := int(math.Floor(0.5 + (float64(a11)-newMoonEpoch)/synodicMonth))
	start := newMoonDay(k + off)
	if day > 29 && newMoonDay(k+off+1)-start < day {
		return bad()
	}
	return dateOfJDN(start + day - 1), nil
}

// LunarNewYear returns midnight in Zone of Tết Nguyên Đán, the first day of
// the first lunar month, in solar year year.
func LunarNewYear(year int) time.Time {
	t, _ := LunarToSolar(year, 1, 1, false) // 1/1 always exists
	return t
}
