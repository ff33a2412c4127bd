package reconcile

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hoso-vn/hoso/workflow"
)

// foldMap maps the lowercase Vietnamese letters with diacritics (in their
// precomposed forms) to their base letters.
var foldMap = func() map[rune]rune {
	m := make(map[rune]rune)
	for base, letters := range map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ",
		'e': "èéẻẽẹêềếểễệ",
		'i': "ìíỉĩị",
		'o': "òóỏõọôồốổỗộơờớởỡợ",
		'u': "ùúủũụưừứửữự",
		'y': "ỳýỷỹỵ",
		'd': "đ",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// fold lowercases s and removes Vietnamese diacritics, precomposed (NFC)
// or as combining marks (NFD), so that "Đang xử lý", "ĐANG XỬ LÝ" and
// "dang xu ly" compare equal. Runs of white space become one space.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 0x300 && r <= 0x36F: // combining diacritical marks
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		r = unicode.ToLower(r)
		if f, ok := foldMap[r]; ok {
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

// statusNames maps folded status names to their codes: the national
// names, the English names of GET /api/v1/statuses, and the few other
// names one-stop-shop software commonly shows.
var statusNames = func() map[string]workflow.Status {
	m := make(map[string]workflow.Status)
	for s := workflow.StatusSubmitted; s <= workflow.MaxStatus; s++ {
		m[fold(s.NameVI())] = s
		m[fold(s.NameEN())] = s
	}
	for name, s := range map[string]workflow.Status{
		"Đã tiếp nhận":    workflow.StatusReceived,
		"Đang giải quyết": workflow.StatusProcessing,
		"Đã giải quyết":   workflow.StatusResolved,
		"Đã trả":          workflow.StatusReturned,
	} {
		m[fold(name)] = s
	}
	return m
}()

// parseStatus reads a status: a code 1–10, a status name (any case, with
// or without diacritics), or a code followed by its name ("4 - Đang xử lý").
func parseStatus(s string) (workflow.Status, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		st, ok := statusNames[fold(s)]
		return st, ok
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || !workflow.Status(n).Valid() {
		return 0, false
	}
	st := workflow.Status(n)
	rest := strings.TrimLeft(s[i:], " \t-–.:)")
	if rest == "" {
		return st, true
	}
	if named, ok := statusNames[fold(rest)]; !ok || named != st {
		return 0, false
	}
	return st, true
}

// yes and no are the folded words parseBool accepts.
var (
	yes = map[string]bool{"1": true, "true": true, "yes": true, "y": true, "x": true, "co": true, "da": true}
	no  = map[string]bool{"0": true, "false": true, "no": true, "n": true, "khong": true, "chua": true}
)

// parseBool reads yes or no: 1/0, true/false, yes/no, có/không, đã/chưa,
// x for a ticked box.
func parseBool(s string) (bool, bool) {
	f := fold(strings.TrimSpace(s))
	switch {
	case yes[f]:
		return true, true
	case no[f]:
		return false, true
	}
	return false, false
}

// parseDate reads a date as YYYY-MM-DD or D/M/YYYY, each optionally
// followed by a time of day (which is ignored), or an RFC 3339 time
// (whose date in workflow.Zone counts). It returns midnight of the date in
// workflow.Zone.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 19 && s[10] == 'T' {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			y, m, d := t.In(workflow.Zone).Date()
			return time.Date(y, m, d, 0, 0, 0, 0, workflow.Zone), true
		}
	}
	date, clock, _ := strings.Cut(s, " ")
	if len(date) > 10 && date[10] == 'T' {
		date, clock = date[:10], date[11:]
	}
	if clock = strings.TrimSpace(clock); clock != "" && !validClock(clock) {
		return time.Time{}, false
	}
	var y, m, d int
	var ok bool
	if strings.Contains(date, "/") {
		var parts []int
		parts, ok = numbers(date, '/')
		if ok && len(parts) == 3 && len(date) >= 8 {
			d, m, y = parts[0], parts[1], parts[2]
			ok = y >= 1000
		} else {
			ok = false
		}
	} else {
		var parts []int
		parts, ok = numbers(date, '-')
		if ok && len(parts) == 3 && len(date) == 10 {
			y, m, d = parts[0], parts[1], parts[2]
		} else {
			ok = false
		}
	}
	if !ok || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, workflow.Zone)
	if t.Day() != d { // 31/02 and the like
		return time.Time{}, false
	}
	return t, true
}

// numbers splits s at sep into unsigned decimal numbers of 1–4 digits.
func numbers(s string, sep byte) ([]int, bool) {
	out := make([]int, 0, 3)
	n, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == sep {
			if digits == 0 {
				return nil, false
			}
			out = append(out, n)
			n, digits = 0, 0
			continue
		}
		if s[i] < '0' || s[i] > '9' || digits == 4 {
			return nil, false
		}
		n = n*10 + int(s[i]-'0')
		digits++
	}
	return out, true
}

// validClock reports whether s is a time of day: HH:MM or HH:MM:SS,
// optionally with a fraction of a second.
func validClock(s string) bool {
	for _, layout := range []string{"15:04", "15:04:05", "15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
