package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// The supervisors' dashboard: server-rendered pages in Vietnamese (English
// with ?lang=en), every number read from indexes and counters. Templates
// and static files are embedded; pages need no script except the live
// feed's few lines and the print button.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageTemplates holds one template set per page: the layout and the page.
var pageTemplates = func() map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "svg" {
			continue
		}
		pages[base] = template.Must(template.New(base).Funcs(templateFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/svg.html", n))
	}
	return pages
}()

var templateFuncs = template.FuncMap{
	"time": formatTime,
	"date": formatDate,
	"short": func(h workflow.Hash) string {
		if h.IsZero() {
			return "—"
		}
		return h.String()[:12]
	},
	"f1":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add":  func(a, b int) int { return a + b },
	"addi": func(a, b int64) int64 { return a + b },
	"addf": func(a, b float64) float64 { return a + b },
	// pair hands a ranking table its page, rows and the label of its key.
	"pair": func(p *view, rows []statsRow, key string) any {
		return struct {
			P    *view
			Rows []statsRow
			Key  string
		}{p, rows, key}
	},
}

// contentSecurityPolicy allows only the dashboard's own scripts, styles
// and connections: no inline script, no inline style, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pagePatterns are the routes answered with HTML; writeError renders
// their errors as a page.
var pagePatterns = map[string]bool{
	"GET /{$}": true, "GET /overdue": true, "GET /dossiers/{code}": true, "GET /feed": true, "GET /definitions": true,
	"GET /irregularities": true, "GET /reconcile": true, "POST /reconcile": true,
}

// isPage reports whether the request is for a dashboard page.
func isPage(r *http.Request) bool { return pagePatterns[r.Pattern] || r.Pattern == "/" }

// view is what every page template receives.
type view struct {
	Lang      string
	Nav       string // the active navigation entry
	Title     string
	URL       *url.URL // the request's URL, for the language switch and CSV links; nil is r.URL
	Now       time.Time
	RequestID string
	User      string // the signed-in user's name; "" without access control
	// Unconfirmed are this year and the next when the calendar computes
	// them rather than following an announcement: their due dates may
	// move when the government publishes its schedule.
	Unconfirmed []int
	Data        any
}

// T returns a label in the page's language.
func (p *view) T(key string) string { return label(p.Lang, key) }

// Num formats a count.
func (p *view) Num(n any) string {
	switch v := n.(type) {
	case int:
		return formatInt(p.Lang, int64(v))
	case int64:
		return formatInt(p.Lang, v)
	case uint64:
		return formatInt(p.Lang, int64(v))
	}
	return fmt.Sprint(n)
}

// Pct formats a percentage.
func (p *view) Pct(v float64) string { return formatPct(p.Lang, v) }

// Base names the base of a report's rate (its JSON name) in the page's
// language: "trên số tiếp nhận", "of received".
func (p *view) Base(r workflow.Report, rate string) string { return baseText(p.Lang, r.Bases[rate]) }

// Rounding says how a report's rates are cut to two decimals.
func (p *view) Rounding(r workflow.Report) string {
	return label(p.Lang, "round."+string(r.Rates.Rounding))
}

// Status names a status in the page's language.
func (p *view) Status(s workflow.Status) string { return statusName(p.Lang, s) }

// StatusView names a status view in the page's language.
func (p *view) StatusView(s *api.Status) string {
	if s == nil {
		return "—"
	}
	return statusName(p.Lang, s.Code)
}

// Reason names a reason code in the page's language.
func (p *view) Reason(r workflow.Reason) string { return reasonText(p.Lang, r) }

// Kind names a kind of irregularity in the page's language.
func (p *view) Kind(k workflow.IrregularityKind) string { return kindText(p.Lang, k) }

// Hours formats working time in hours.
func (p *view) Hours(d time.Duration) string { return formatHours(p.Lang, d) }

// Msg picks the message of the page's language.
func (p *view) Msg(vi, en string) string {
	if p.Lang == langEN && en != "" {
		return en
	}
	return vi
}

// Timing names a timing.
func (p *view) Timing(t workflow.Timing) string {
	if t == "" {
		return "—"
	}
	return p.T("timing." + string(t))
}

// With returns the page's URL with the parameters changed: pairs of name
// and value, an empty value removing the parameter. The cursor is always
// dropped unless set, so that a changed filter starts at the first page.
func (p *view) With(kv ...string) string {
	q := p.URL.Query()
	q.Del("cursor")
	q.Del(langParam)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u := url.URL{Path: p.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

// OtherLang is the other language's code.
func (p *view) OtherLang() string {
	if p.Lang == langEN {
		return langVI
	}
	return langEN
}

// render writes a page with the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *view) error {
	t := pageTemplates[name]
	if t == nil {
		return fmt.Errorf("web: no template %q", name)
	}
	if p.URL == nil {
		p.URL = r.URL
	}
	p.RequestID = requestID(r)
	if u := userFrom(r.Context()); u != nil {
		p.User = u.Name
	}
	if p.Now.IsZero() {
		p.Now = s.now()
	}
	if cal := s.calendar(); cal != nil {
		for y := p.Now.In(workflow.Zone).Year(); y <= p.Now.In(workflow.Zone).Year()+1; y++ {
			if !cal.Confirmed(y) {
				p.Unconfirmed = append(p.Unconfirmed, y)
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	securePage(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

func securePage(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// renderError answers a page request's error with an error page in the
// page's language. writeError calls it after mapping the error.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, ae *apiError) {
	lang, _ := language(r)
	msg := ae.msg
	switch {
	case lang == langVI && ae.vi != "":
		msg = ae.vi
	case ae.code == "not_found":
		msg = label(lang, "err.notfound")
	case ae.code == "internal":
		msg = label(lang, "err.internal")
	}
	// The page's links (the language switch) keep none of the request's
	// parameters: a refused name or value is not repeated.
	p := &view{Lang: lang, Title: label(lang, "err.title"), URL: &url.URL{Path: r.URL.Path}, Data: struct {
		Status       int
		Param, Msg   string
		ShowRequest  bool
		StatusString string
	}{ae.status, ae.param, msg, ae.status >= 500, http.StatusText(ae.status)}}
	if err := s.render(w, r, ae.status, "error", p); err != nil {
		s.log.Error("render error page", "err", err, "request_id", requestID(r))
		http.Error(w, ae.msg, ae.status)
	}
}

// notFoundPage answers paths no route has, as a page.
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such page: " + r.URL.Path,
		vi: "Không có trang " + r.URL.Path})
}

// static serves the embedded stylesheet and scripts.
func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	sub, _ := fs.Sub(staticFS, "static")
	name := r.PathValue("file")
	if !staticNameRE.MatchString(name) {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such file"}
	}
	if _, err := fs.Stat(sub, name); err != nil {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such file"}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, sub, name)
	return nil
}

var staticNameRE = regexp.MustCompile(`^[a-z0-9-]+\.(css|js)$`)

// pageQuery reads a page's query parameters, with errors in both
// languages. Like query, it keeps the first error and reads zero values
// after it.
type pageQuery struct {
	v   url.Values
	err *apiError
}

// pageParams rejects parameters not in allowed (lang is always allowed)
// and repeated ones, and a ?lang that is not a language.
func pageParams(r *http.Request, allowed ...string) (*pageQuery, string, error) {
	lang, bad := language(r)
	if bad != "" {
		return nil, lang, pageBad(langParam, "%q is not vi or en", "%q không phải vi hoặc en", bad)
	}
	v := r.URL.Query()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == langParam {
			continue
		}
		if !slices.Contains(allowed, k) {
			// The name given is not repeated (unknownParam).
			all := strings.Join(append(slices.Clone(allowed), langParam), ", ")
			return nil, lang, &apiError{status: http.StatusBadRequest, code: "bad_parameter",
				msg: "unknown parameter; this page takes " + all, vi: "tham số không được hỗ trợ; trang này nhận " + all}
		}
		if len(v[k]) > 1 {
			return nil, lang, pageBad(k, "given %d times; give it once", "có %d lần; chỉ được có một lần", len(v[k]))
		}
		if len(v[k][0]) > 256 {
			return nil, lang, pageBad(k, "value longer than 256 bytes", "giá trị dài quá 256 byte")
		}
	}
	return &pageQuery{v: v}, lang, nil
}

// pageBad is a bad parameter with its message in English and Vietnamese;
// both formats take the same arguments.
func pageBad(param, en, vi string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_parameter", param: param,
		msg: param + ": " + fmt.Sprintf(en, args...), vi: param + ": " + fmt.Sprintf(vi, args...)}
}

func (q *pageQuery) value(k string) string {
	if q.err != nil {
		return ""
	}
	return q.v.Get(k)
}

// text reads an agency or procedure code.
func (q *pageQuery) text(k string) string {
	v := strings.TrimSpace(q.value(k))
	if v != "" && !textRE.MatchString(v) {
		q.err = pageBad(k, "%q is not a code (letters, digits, . _ - *)", "%q không phải là mã (chữ, số, . _ - *)", v)
		return ""
	}
	return v
}

var textRE = regexp.MustCompile(`^[\p{L}\p{N}._*-][\p{L}\p{N} ._*-]{0,127}$`)

// choice reads one of the options; "" when absent.
func (q *pageQuery) choice(k string, options ...string) string {
	v := q.value(k)
	if v != "" && !slices.Contains(options, v) {
		q.err = pageBad(k, "%q is not one of %s", "%q không thuộc %s", v, strings.Join(options, ", "))
		return ""
	}
	return v
}

// month reads a month YYYY-MM.
func (q *pageQuery) month(k string) string {
	v := q.value(k)
	if v != "" {
		if len(v) != 7 || v < "1000-01" {
			q.err = pageBad(k, "%q is not a month (YYYY-MM)", "%q không phải là tháng (YYYY-MM)", v)
			return ""
		}
		if _, err := time.Parse("2006-01", v); err != nil {
			q.err = pageBad(k, "%q is not a month (YYYY-MM)", "%q không phải là tháng (YYYY-MM)", v)
			return ""
		}
	}
	return v
}

// reason reads a reason code.
func (q *pageQuery) reason(k string) workflow.Reason {
	r := workflow.Reason(q.value(k))
	if r != "" && !r.Known() {
		q.err = pageBad(k, "%q is not a reason code", "%q không phải là mã lý do", r)
		return ""
	}
	return r
}

// cursor reads an opaque cursor (hex).
func (q *pageQuery) cursor() string {
	v := q.value("cursor")
	if v != "" && !hexRE.MatchString(v) {
		q.err = pageBad("cursor", "%q is not a cursor of this list", "%q không phải là con trỏ của danh sách này", v)
		return ""
	}
	return v
}

// hexRE matches a cursor of whole bytes in hex, 8 to 500 of them.
var hexRE = regexp.MustCompile(`^([0-9a-f]{2}){8,500}$`)

// csv reports whether ?format=csv was asked.
func (q *pageQuery) csv() bool { return q.choice("format", "csv", "html") == "csv" }

// error returns the first malformed parameter's error, or nil.
func (q *pageQuery) error() error {
	if q.err == nil {
		return nil
	}
	return q.err
}
