package web

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hoso-vn/hoso/workflow"
)

// FuzzDossierQuery feeds GET /api/v1/dossiers arbitrary query strings: the
// parameters are either refused with a 400 naming one of them (or, for an
// unknown one, listing the allowed ones without its name), or read
// into a query whose dates are real dates in order and whose cursor has
// the form of the order the filters choose.
func FuzzDossierQuery(f *testing.F) {
	for _, s := range []string{
		"", "status=4&agency=H57", "overdue=true&cursor=00000000000000ff41", "from=2025-10-01&to=2025-10-31&cursor=2025-10-02~A-1",
		"overdue=false&from=2025-10-01", "to=2025-02-30", "limit=1000&cursor=000.00.12.H57-251001-0001", "colour=red", "from=x&from=y",
	} {
		f.Add(s)
	}
	params := queryParams["/api/v1/dossiers"]
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v, params...)
		if err == nil {
			dq := dossierQueryOf(t, q)
			if dq == nil {
				return
			}
			for _, d := range []string{dq.ReceivedFrom, dq.ReceivedTo} {
				if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
					t.Fatalf("%q: date %q accepted", raw, d)
				}
			}
			if dq.ReceivedFrom != "" && dq.ReceivedTo != "" && dq.ReceivedTo < dq.ReceivedFrom {
				t.Fatalf("%q: to before from accepted", raw)
			}
			switch c := dq.After; {
			case c == "":
			case dq.Overdue != nil && *dq.Overdue:
				if b, err := hex.DecodeString(c); err != nil || len(b) <= 8 {
					t.Fatalf("%q: due-order cursor %q accepted", raw, c)
				}
			case dq.ReceivedFrom != "" || dq.ReceivedTo != "":
				if date, code, ok := strings.Cut(c, "~"); !ok || len(date) != len(time.DateOnly) || !workflow.IsDossierCode(code) {
					t.Fatalf("%q: receipt-order cursor %q accepted", raw, c)
				}
			case !workflow.IsDossierCode(c):
				t.Fatalf("%q: code cursor %q accepted", raw, c)
			}
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != 400 || ae.msg == "" {
			t.Fatalf("%q: error %v is not a 400", raw, err)
		}
		switch {
		case ae.param == "" && v.Has(""): // a parameter without a name
		case ae.param == "":
			// An unknown parameter: the refusal lists the allowed ones and
			// says nothing that depends on the name given.
			if !slices.Equal(ae.allowed, params) || !hasUnknown(v, params) || ae.msg != unknownParam(params).msg {
				t.Fatalf("%q: error %v (allowed %q) is not the refusal of an unknown parameter", raw, err, ae.allowed)
			}
		case !v.Has(ae.param) || !slices.Contains(params, ae.param):
			t.Fatalf("%q: error %v does not name a given parameter", raw, err)
		}
	})
}

// hasUnknown reports whether v has a parameter not in allowed.
func hasUnknown(v url.Values, allowed []string) bool {
	for k := range v {
		if !slices.Contains(allowed, k) {
			return true
		}
	}
	return false
}

// dossierQueryOf reads q and checks that a refusal names a parameter; it
// returns nil after a refusal.
func dossierQueryOf(t *testing.T, q *query) *workflow.DossierQuery {
	t.Helper()
	dq, err := dossierQuery(q)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != 400 || ae.param == "" {
			t.Fatalf("dossierQuery error %v does not name a parameter", err)
		}
		return nil
	}
	return &dq
}

// TestErrorsClipLongInputs: an error message echoes at most the start of
// an overlong path code, not the whole of it, and nothing of an unknown
// parameter's name.
func TestErrorsClipLongInputs(t *testing.T) {
	s := New(Config{})
	long := strings.Repeat("ab", 5000)
	for _, target := range []string{
		"/api/v1/dossiers/" + long,
		"/api/v1/dossiers?" + long + "=1",
		"/api/v1/dossiers/" + strings.Repeat("đ", 40) + "/verify", // clipped on a whole character
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost"+target, nil))
		body := w.Body.String()
		clipped := strings.Contains(body, "…") || !strings.Contains(body, "abab")
		if w.Code != http.StatusBadRequest || len(body) > 600 || !clipped || !utf8.ValidString(body) {
			t.Errorf("GET %.40s…: %d, %d bytes: %.300s", target, w.Code, len(body), body)
		}
	}
}
