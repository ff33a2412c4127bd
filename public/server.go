package public

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// Store is what the public surface reads. store.DB satisfies it.
type Store interface {
	// Stats returns the statistics the query selects, from counters; the
	// error wraps workflow.ErrInvalidStatsQuery for an invalid query.
	Stats(ctx context.Context, q workflow.StatsQuery) (workflow.StatsResult, error)
	// Lookup returns the dossier with the code, ok false when none has
	// it, in one read: what every lookup reads.
	Lookup(ctx context.Context, code string) (d workflow.Dossier, ok bool, err error)
	// History returns the history entries of the dossier in order: what
	// a lookup whose secret matched reads next.
	History(ctx context.Context, code string) ([]workflow.HistoryEntry, error)
	// Catalog returns the definitions and the calendar in force.
	Catalog() *workflow.Catalog
}

// Config configures a Server.
type Config struct {
	Store Store // required
	// Settings is what is published; the zero value publishes every
	// indicator of every agency, aggregated.
	Settings Settings
	// Rates is the base of the headline rates and the rounding of every
	// rate, the server's (hoso serve --rate-base, --rate-rounding); a
	// request cannot change it. Its empty fields are
	// workflow.DefaultRates'.
	Rates workflow.Rates
	// Now is the clock of the figures "now" (dossiers in progress, past
	// due); nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil discards
	// MaxInFlight is how many requests may compute a scoreboard at once;
	// more are answered 503 with Retry-After. 0 is DefaultMaxInFlight.
	MaxInFlight int
	// MaxAge is how long caches may keep a published answer (pages, JSON,
	// CSV: aggregates, the same for everyone); 0 is DefaultMaxAge.
	// Errors are never stored.
	MaxAge time.Duration
	// LookupKey is the deployment's lookup key (workflow.ParseLookupKey),
	// the one the one-stop-shop makes the dossiers' lookup digests with;
	// nil: the dossier lookup is not offered, and its routes say so.
	LookupKey []byte
}

// Defaults of Config.
const (
	DefaultMaxInFlight = 16
	DefaultMaxAge      = time.Minute
)

// Limits of a request, checked before it is routed.
const (
	maxQueryBytes = 1024 // the raw query string
	maxValueBytes = 128  // one parameter's value
)

// Server is the HTTP handler of the public surface. It is safe for
// concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	routes []route
	slots  chan struct{} // one per request computing a scoreboard or a lookup
	// live holds the settings in force and the lookup's rate limits
	// built from them; SetSettings replaces both at once.
	live atomic.Pointer[live]
	// digest is workflow.LookupDigest; a test counts its calls.
	digest func(key []byte, code, secret string) [32]byte
}

// route is one route of the table.
type route struct {
	Route
	kind   kind
	cache  bool // an aggregate: cacheable for Config.MaxAge (else no-store)
	frame  bool // may be framed (the embeddable view): frame-ancestors from Settings
	handle func(s *Server, w http.ResponseWriter, r *http.Request, q *query) error
}

// kind is what a route answers with, and so how its errors are answered.
type kind int

const (
	kindPage kind = iota // HTML in the request's language
	kindJSON
	kindCSV
	kindAsset
)

// Route is one route of the public surface, for documentation and tests.
type Route struct {
	Pattern string   // a net/http pattern without a method
	Params  []string // the query parameters it takes (pages also take lang)
	// Methods are the methods it takes; nil is GET and HEAD. Only the
	// lookup takes POST, so that a secret never is in a URL.
	Methods []string
}

// methods returns the methods the route takes.
func (r *Route) methods() []string {
	if r.Methods == nil {
		return []string{http.MethodGet, http.MethodHead}
	}
	return r.Methods
}

// Routes lists every route of the public surface.
func Routes() []Route {
	var out []Route
	for _, r := range table() {
		out = append(out, Route{Pattern: r.Pattern, Params: slices.Clone(r.Params), Methods: slices.Clone(r.methods())})
	}
	return out
}

// boardParams are the query parameters of the scoreboard's answers.
var boardParams = []string{"from", "to", "kind", "by", "agency", "sector"}

// table returns the route table.
func table() []route {
	return []route{
		{Route: Route{"/scoreboard", boardParams, nil}, kind: kindPage, cache: true, handle: (*Server).scoreboardPage},
		{Route: Route{"/scoreboard/embed", []string{"from", "to", "kind", "agency"}, nil}, kind: kindPage, cache: true, frame: true, handle: (*Server).embedPage},
		{Route: Route{"/api/public/v1/scoreboard", boardParams, nil}, kind: kindJSON, cache: true, handle: (*Server).scoreboardJSON},
		{Route: Route{"/api/public/v1/scoreboard.csv", boardParams, nil}, kind: kindCSV, cache: true, handle: (*Server).scoreboardCSV},
		{Route: Route{"/lookup", nil, []string{http.MethodGet, http.MethodHead, http.MethodPost}}, kind: kindPage, handle: (*Server).lookupPage},
		{Route: Route{"/api/public/v1/lookup", nil, []string{http.MethodPost}}, kind: kindJSON, handle: (*Server).lookupJSON},
		{Route: Route{"/assets/{file}", nil, nil}, kind: kindAsset, handle: (*Server).asset},
	}
}

// New builds a Server; it checks Config.Settings.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("public: Config.Store is nil")
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Rates.Validate(); err != nil {
		return nil, fmt.Errorf("public: %w", err)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.LookupKey != nil && (len(cfg.LookupKey) < workflow.MinLookupKey || len(cfg.LookupKey) > workflow.MaxLookupKey) {
		return nil, fmt.Errorf("public: Config.LookupKey: %d bytes, want %d to %d", len(cfg.LookupKey), workflow.MinLookupKey, workflow.MaxLookupKey)
	}
	cfg.LookupKey = slices.Clone(cfg.LookupKey)
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), routes: table(), slots: make(chan struct{}, cfg.MaxInFlight),
		digest: workflow.LookupDigest}
	s.live.Store(&live{settings: cfg.Settings, limits: newLookups(cfg.Settings.Lookup)})
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) { s.serveRoute(w, r, rt) })
	}
	return s, nil
}

// live is what SetSettings replaces: the settings and the rate limits of
// the lookup.
type live struct {
	settings Settings
	limits   *lookups
}

// settings returns the settings in force.
func (s *Server) settings() *Settings { return &s.live.Load().settings }

// SetSettings puts new settings in force (hoso serve does on SIGHUP,
// after reading the public file again): the next requests publish what
// they say. The lookup's rate limits keep what each client address and
// code has used, unless the new settings change the limits: then they
// start anew under the new ones.
func (s *Server) SetSettings(set Settings) error {
	if err := set.Validate(); err != nil {
		return err
	}
	for {
		old := s.live.Load()
		next := &live{settings: set, limits: old.limits}
		if set.Lookup != old.settings.Lookup {
			next.limits = newLookups(set.Lookup)
		}
		if s.live.CompareAndSwap(old, next) {
			return nil
		}
	}
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

type ctxKey struct{}

// ServeHTTP answers a request: an id of its own (a client's
// X-Request-Id is not taken: the surface faces the internet), the
// headers every answer carries, the checks of the query string, then
// the route. A path no route has is a 404 page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h := sw.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	start := time.Now()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.writeError(sw, r, kindPage, errNotFound)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.log.Debug("public request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
		"duration", time.Since(start), "request_id", id)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// serveRoute checks the method and the query of a request for a route
// and calls its handler, within the limit of requests at once.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt *route) {
	if methods := rt.methods(); !slices.Contains(methods, r.Method) {
		allow := strings.Join(methods, ", ")
		w.Header().Set("Allow", allow)
		s.writeError(w, r, rt.kind, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			EN: r.Method + " is not a method of " + r.URL.Path + "; it takes " + allow,
			VI: "Trang " + r.URL.Path + " chỉ nhận " + allow})
		return
	}
	q, err := parseQuery(r, rt)
	if err != nil {
		s.writeError(w, r, rt.kind, err)
		return
	}
	if rt.kind != kindAsset {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		default:
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, rt.kind, &Error{Status: http.StatusServiceUnavailable, Code: "busy",
				EN: "too many requests at once; try again in a second", VI: "Máy chủ đang bận; xin thử lại sau một giây"})
			return
		}
	}
	if rt.cache {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.MaxAge/time.Second)))
		if rt.kind == kindPage {
			w.Header().Set("Vary", "Accept-Language")
		}
	}
	if err := rt.handle(s, w, r, q); err != nil {
		s.writeError(w, r, rt.kind, err)
	}
}

// Error is an answer other than 200, in English and Vietnamese.
type Error struct {
	Status int
	// Code is stable: bad_parameter, bad_query, bad_body, body_too_large,
	// bad_content_type, not_found, lookup_not_found, lookup_not_offered,
	// method_not_allowed, rate_limited, busy, internal.
	Code  string
	Param string // the offending parameter, if any
	// RetryAfter is the Retry-After of a 429, in seconds; 0 for none.
	RetryAfter int
	EN, VI     string
	// Allowed lists the parameters of the route when the request gave one
	// it does not take.
	Allowed []string
}

func (e *Error) Error() string { return e.EN }

var errNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", EN: "no such page", VI: "Không có trang này"}

// writeError is the one place that maps errors to answers: JSON for the
// API, an HTML page in the request's language for pages, plain text for
// CSV and assets. Internal errors are logged with the request id and
// answered "internal error". Errors are never cached.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, k kind, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, workflow.ErrInvalidStatsQuery):
		e = &Error{Status: http.StatusBadRequest, Code: "bad_parameter", EN: err.Error(), VI: "Truy vấn số liệu không hợp lệ"}
	case errors.Is(err, context.Canceled):
		e = &Error{Status: 499, Code: "canceled", EN: "request canceled", VI: "Yêu cầu đã hủy"}
	default:
		s.log.Error("public internal error", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", EN: "internal error", VI: "Lỗi nội bộ"}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Del("Vary")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	switch k {
	case kindJSON:
		writeJSON(w, e.Status, api.ErrorResponse{Error: api.Error{Code: e.Code, Message: e.EN, Parameter: e.Param,
			Allowed: e.Allowed, RequestID: requestID(r)}})
	case kindPage:
		s.renderError(w, r, e)
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.Status)
		_, _ = fmt.Fprintf(w, "%s: %s (request %s)\n", e.Code, e.EN, requestID(r))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// query is a request's query, checked against its route: only the
// route's parameters (and lang on pages), each at most once and short.
type query struct {
	v    url.Values
	lang string
	err  *Error
}

// parseQuery checks the query of a request for rt. It reads the
// language: ?lang (vi or en), else Accept-Language, else Vietnamese.
func parseQuery(r *http.Request, rt *route) (*query, error) {
	raw := r.URL.RawQuery
	q := &query{lang: acceptLanguage(r.Header.Get("Accept-Language"))}
	if len(raw) > maxQueryBytes {
		return q, &Error{Status: http.StatusBadRequest, Code: "bad_query",
			EN: fmt.Sprintf("the query string is longer than %d bytes", maxQueryBytes),
			VI: fmt.Sprintf("chuỗi truy vấn dài quá %d byte", maxQueryBytes)}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, &Error{Status: http.StatusBadRequest, Code: "bad_query",
			EN: "the query string does not parse: a malformed %-escape, or a ';' (separate parameters with '&')",
			VI: "chuỗi truy vấn không đọc được: mã %-escape sai, hoặc có dấu ';' (các tham số cách nhau bằng '&')"}
	}
	q.v = v
	allowed := slices.Clone(rt.Params)
	if rt.kind == kindPage {
		allowed = append(allowed, "lang")
	}
	if l, ok := v["lang"]; ok && rt.kind == kindPage {
		if len(l) != 1 || (l[0] != langVI && l[0] != langEN) {
			return q, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: "lang",
				EN: "lang: must be given once, vi or en", VI: "lang: chỉ một lần, vi hoặc en"}
		}
		q.lang = l[0]
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(allowed, k) {
			// The name given is not repeated.
			list := strings.Join(allowed, ", ")
			if list == "" {
				list = "none"
			}
			return q, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Allowed: allowed,
				EN: "unknown parameter; this address takes " + list, VI: "tham số không được hỗ trợ; địa chỉ này nhận " + list}
		}
		if len(v[k]) > 1 {
			return q, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: k,
				EN: fmt.Sprintf("%s: given %d times; give it once", k, len(v[k])),
				VI: fmt.Sprintf("%s: có %d lần; chỉ được có một lần", k, len(v[k]))}
		}
		if len(v[k][0]) > maxValueBytes {
			return q, &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: k,
				EN: fmt.Sprintf("%s: longer than %d bytes", k, maxValueBytes),
				VI: fmt.Sprintf("%s: dài quá %d byte", k, maxValueBytes)}
		}
	}
	return q, nil
}

// fail records the first malformed parameter.
func (q *query) fail(param, en, vi string, args ...any) {
	if q.err == nil {
		q.err = &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: param,
			EN: param + ": " + fmt.Sprintf(en, args...), VI: param + ": " + fmt.Sprintf(vi, args...)}
	}
}

func (q *query) value(k string) string {
	if q.err != nil {
		return ""
	}
	return q.v.Get(k)
}

// month reads a month YYYY-MM or a year YYYY, completed with month (01
// for a start, 12 for an end).
func (q *query) month(k, month string) string {
	v := q.value(k)
	if len(v) == len("2006") {
		v += "-" + month
	}
	if _, ok := workflow.ParseMonth(v); v != "" && !ok {
		q.fail(k, "%q is not a month (YYYY-MM) or a year (YYYY)", "%q không phải là tháng (YYYY-MM) hoặc năm (YYYY)", q.v.Get(k))
		return ""
	}
	return v
}

// choice reads one of options; "" when absent.
func (q *query) choice(k string, options ...string) string {
	v := q.value(k)
	if v != "" && !slices.Contains(options, v) {
		q.fail(k, "%q is not one of %s", "%q không thuộc %s", v, strings.Join(options, ", "))
		return ""
	}
	return v
}

// code reads an agency code.
func (q *query) code(k string) string {
	v := q.value(k)
	if v != "" && !agencyRE.MatchString(v) {
		q.fail(k, "%q is not an agency code (letters, digits, . _ -)", "%q không phải là mã cơ quan (chữ, số, . _ -)", v)
		return ""
	}
	return v
}

// text reads a sector name: text without control characters.
func (q *query) text(k string) string {
	v := q.value(k)
	if v != "" && (strings.ContainsFunc(v, isControl) || strings.TrimSpace(v) != v) {
		q.fail(k, "%q is not a sector name", "%q không phải là tên lĩnh vực", v)
		return ""
	}
	return v
}

// error returns the first malformed parameter's error, or nil.
func (q *query) error() error {
	if q.err == nil {
		return nil
	}
	return q.err
}

// boardQuery reads the query of a scoreboard answer.
func (s *Server) boardQuery(q *query) (boardQuery, error) {
	kinds := []string{string(workflow.KindDossier)}
	if s.settings().published(IndicatorFeedback) {
		kinds = append(kinds, string(workflow.KindFeedback))
	}
	bq := boardQuery{From: q.month("from", "01"), To: q.month("to", "12"),
		Kind: workflow.Kind(q.choice("kind", kinds...)), By: q.choice("by", breakdowns...),
		Agency: q.code("agency"), Sector: q.text("sector")}
	if q.err == nil && bq.From != "" && bq.To != "" && bq.To < bq.From {
		q.fail("to", "%s is before from (%s)", "%s trước tháng bắt đầu (%s)", bq.To, bq.From)
	}
	if bq.Kind == "" {
		bq.Kind = workflow.KindDossier
	}
	return bq, q.error()
}
