package public

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// lookupView is what the lookup page shows: the form, with the code
// typed (never the secret) and the error of the last try, or the answer.
type lookupView struct {
	Code     string
	Err      string // the message, in the page's language
	ErrField string // "code", "secret" or "" for the form as a whole
	Answer   *LookupAnswer
}

// lookupPage answers GET /lookup with the form and POST /lookup with the
// answer, or the form again with what went wrong.
func (s *Server) lookupPage(w http.ResponseWriter, r *http.Request, q *query) error {
	if s.cfg.LookupKey == nil {
		return errLookupOff
	}
	lang := q.lang
	p := &page{Lang: lang, Nav: "lookup", Title: label(lang, "lookup.title")}
	v := &lookupView{}
	p.Data = v
	if r.Method != http.MethodPost {
		return s.render(w, r, http.StatusOK, "lookup", p, false)
	}
	var typed string
	ans, err := s.lookup(r, func(body []byte) (lookupRequest, error) {
		req, err := parseLookupForm(r, body)
		typed = req.Code
		return req, err
	})
	var e *Error
	if err != nil && !errors.As(err, &e) {
		return err
	}
	if e != nil {
		v.Code = strings.TrimSpace(typed)
		if !workflow.IsDossierCode(v.Code) {
			v.Code = "" // what is not a code is not repeated
		}
		v.Err = e.VI
		if lang == langEN {
			v.Err = e.EN
		}
		if e.Param == "code" || e.Param == "secret" {
			v.ErrField = e.Param
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		return s.render(w, r, e.Status, "lookup", p, false)
	}
	v.Answer = ans
	p.Title = label(lang, "lookup.result") + " " + ans.Code
	return s.render(w, r, http.StatusOK, "lookup", p, false)
}

// Date writes the date of an instant in Vietnam's time.
func (p *page) Date(t time.Time) string { return t.In(workflow.Zone).Format("02/01/2006") }

// StatusName is a status's name in the page's language.
func (p *page) StatusName(st LookupStatus) string {
	if p.Lang == langEN {
		return st.NameEN
	}
	return st.NameVI
}

// Days writes a number of working days in the page's language.
func (p *page) Days(n int) string {
	if p.Lang == langEN && n != 1 {
		return strconv.Itoa(n) + " working days"
	}
	if p.Lang == langEN {
		return "1 working day"
	}
	return strconv.Itoa(n) + " ngày làm việc"
}
