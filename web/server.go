package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// Store is what the API reads. store.DB satisfies it.
type Store interface {
	// DossierHistory returns a dossier and its history, read in one
	// transaction; workflow.ErrNotFound when no dossier has the code.
	DossierHistory(ctx context.Context, code string) (*workflow.Dossier, []workflow.HistoryEntry, error)
	Verify(ctx context.Context, code string) (workflow.ChainReport, error)
	Dossiers(ctx context.Context, q workflow.DossierQuery) ([]workflow.Dossier, string, error)
	Rejections(ctx context.Context, q workflow.RejectionQuery) ([]workflow.Rejection, uint64, error)
	Mismatches(ctx context.Context, q workflow.MismatchQuery) ([]workflow.Mismatch, uint64, error)
	// Irregularities lists the irregularities of accepted events newest
	// first; the irregularities of one event are never split between
	// pages.
	Irregularities(ctx context.Context, q workflow.IrregularityQuery) ([]workflow.Irregularity, uint64, error)
	// IrregularityTallies counts the irregularities by agency and officer,
	// from the store's tallies (dashboard).
	IrregularityTallies(ctx context.Context, q workflow.IrregularityTallyQuery) ([]workflow.IrregularityTally, error)
	// DossiersByCode returns the dossiers of the codes, keyed by code; a
	// code with no dossier is absent (reconciliation).
	DossiersByCode(ctx context.Context, codes []string) (map[string]*workflow.Dossier, error)
	// VerifyPage verifies the chains of up to max dossiers after the code
	// after, in code order; next is "" after the last page (audit).
	VerifyPage(ctx context.Context, after string, max int) (reports []workflow.ChainReport, next string, err error)
	// VerifyStore checks the indexes, counters and rows against a recount
	// of the records, in one transaction (audit).
	VerifyStore(ctx context.Context) ([]workflow.Finding, error)
	// Deadlines lists dossiers from the due or overdue index (dashboard).
	Deadlines(ctx context.Context, q workflow.DeadlineQuery) ([]workflow.Dossier, string, error)
	// Totals returns the running totals from counters (dashboard).
	Totals(ctx context.Context) (workflow.Totals, error)
	// Stats returns the statistics the query selects, from counters; the
	// error wraps workflow.ErrInvalidStatsQuery for an invalid query.
	Stats(ctx context.Context, q workflow.StatsQuery) (workflow.StatsResult, error)
}

// Config configures a Server.
type Config struct {
	Store   Store             // required
	Catalog *workflow.Catalog // required: served at /api/v1/definitions
	// Calendar returns the calendar in force, which the dashboard counts
	// working time in and whose unconfirmed years it names; a calendar
	// event replaces it while the server runs. Nil is Catalog.Calendar.
	Calendar func() *workflow.Calendar
	// Ready reports whether the engine is ready to take traffic; nil means
	// always ready. /readyz answers 503 with its error otherwise.
	Ready   func(ctx context.Context) error
	Metrics http.Handler // served at /metrics when not nil
	Logger  *slog.Logger // nil discards
	// Publisher publishes the corrections of a reconciliation
	// (POST /api/v1/reconcile?publish=true); nil refuses publish=true.
	Publisher Publisher
	// Feed is the source of the dashboard's live feed (/api/v1/feed); nil
	// answers that endpoint with 501.
	Feed *Feed
	// Admin serves the administration endpoints (/api/v1/admin/…: state
	// and backup); nil answers them with 501. They are for administrators
	// only.
	Admin Admin
	// Replica reports the engine's name among replicas and whether it
	// leads (GET /api/v1/admin/state); nil for an engine alone.
	Replica func() (name string, leader bool)
	// Now is the clock of the dashboard (overdue and at-risk times), of
	// dashboard sessions and of the throttling of failed logins; nil is
	// time.Now.
	Now func() time.Time
	// Access is who may call which route (see accessRules); nil leaves
	// every route open, for a first run on loopback, and then the server
	// answers only requests addressed to a loopback name (localhost,
	// 127.0.0.0/8, [::1]): other Host headers get 421, so that a page of
	// another site cannot reach it through a browser by pointing its own
	// name at 127.0.0.1 (DNS rebinding).
	Access *Access
	// AnyIPHost, without an Access, also answers requests addressed to any
	// IP address (never to a name other than localhost), for a server
	// deliberately open on a network address (hoso serve
	// --insecure-open). False by default.
	AnyIPHost bool
	// Limits bounds sessions, failed authentications, live-feed streams
	// and reconciliations; its zero fields take their defaults.
	Limits Limits
	// Rates is the base of the headline rates and the rounding of every
	// rate of the statistics (API, dashboard, CSV); its empty fields are
	// workflow.DefaultRates' (received, truncated). GET /api/v1/stats may
	// override it for one report.
	Rates workflow.Rates
}

// Server is the HTTP handler of hoso.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	access atomic.Pointer[Access] // nil: access control off (Config.Access nil)

	accessMu      sync.Mutex
	accessChanged chan struct{} // closed and replaced by SetAccess

	sessions *sessions // the dashboard's sessions (session.go)
	limiter  *limiter  // failed authentications, feed streams, reconciliations (throttle.go)
}

// New builds a Server.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), accessChanged: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.access.Store(cfg.Access)
	s.sessions, s.limiter = newSessions(cfg.Limits.withDefaults()), newLimiter(cfg.Limits.withDefaults())
	s.routes()
	return s
}

// calendar returns the calendar in force (Config.Calendar); nil without
// one and without a catalog.
func (s *Server) calendar() *workflow.Calendar {
	switch {
	case s.cfg.Calendar != nil:
		return s.cfg.Calendar()
	case s.cfg.Catalog != nil:
		return s.cfg.Catalog.Calendar()
	}
	return nil
}

// ErrAccessOff is returned by SetAccess on a server started without an
// access file: access control is turned on or off only at start.
var ErrAccessOff = errors.New("web: access control is off; it is turned on at start")

// SetAccess replaces the users of a server started with Config.Access,
// for the requests that start afterwards: a removed user's token is
// refused from then on, and the dashboard sessions of users removed or
// changed (role, agencies, token) end. Live feed streams already open are
// checked again at once: a stream its user may no longer see ends.
func (s *Server) SetAccess(a *Access) error {
	if a == nil || s.access.Load() == nil {
		return ErrAccessOff
	}
	s.access.Store(a)
	s.sessions.retain(a, s.now())
	s.accessMu.Lock()
	close(s.accessChanged)
	s.accessChanged = make(chan struct{})
	s.accessMu.Unlock()
	return nil
}

// accessWatch returns a channel closed by the next SetAccess.
func (s *Server) accessWatch() <-chan struct{} {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	return s.accessChanged
}

// Route is one route of the server, for documentation and tests.
type Route struct {
	Method, Pattern string
}

// Routes lists every route the server answers.
func Routes() []Route {
	return []Route{
		{"GET", "/healthz"},
		{"GET", "/readyz"},
		{"GET", "/metrics"},
		{"GET", "/api/v1/dossiers"},
		{"GET", "/api/v1/dossiers/{code}"},
		{"GET", "/api/v1/dossiers/{code}/verify"},
		{"GET", "/api/v1/rejections"},
		{"GET", "/api/v1/mismatches"},
		{"GET", "/api/v1/irregularities"},
		{"GET", "/api/v1/definitions"},
		{"GET", "/api/v1/statuses"},
		{"POST", "/api/v1/reconcile"},
		{"GET", "/reconcile"},
		{"POST", "/reconcile"},
		{"GET", "/api/v1/stats"},
		{"GET", "/api/v1/audit/verify"},
		{"GET", "/api/v1/audit/checkpoint"},
		{"GET", "/api/v1/openapi.json"},
		{"GET", "/api/v1/feed"},
		{"GET", "/api/v1/admin/state"},
		{"GET", "/api/v1/admin/backup"},
		{"GET", "/{$}"},
		{"GET", "/overdue"},
		{"GET", "/dossiers/{code}"},
		{"GET", "/feed"},
		{"GET", "/irregularities"},
		{"GET", "/definitions"},
		{"GET", "/static/{file}"},
	}
}

func (s *Server) routes() {
	handlers := map[string]handlerFunc{
		"/healthz":                       s.healthz,
		"/readyz":                        s.readyz,
		"/metrics":                       s.metrics,
		"/api/v1/dossiers":               s.listDossiers,
		"/api/v1/dossiers/{code}":        s.getDossier,
		"/api/v1/dossiers/{code}/verify": s.verifyDossier,
		"/api/v1/rejections":             s.listRejections,
		"/api/v1/mismatches":             s.listMismatches,
		"/api/v1/irregularities":         s.listIrregularities,
		"/api/v1/definitions":            s.listDefinitions,
		"/api/v1/statuses":               s.listStatuses,
		"/api/v1/reconcile":              s.reconcileExport,
		"/reconcile":                     s.reconcilePage,
		"/api/v1/stats":                  s.stats,
		"/api/v1/audit/verify":           s.auditVerify,
		"/api/v1/audit/checkpoint":       s.auditCheckpoint,
		"/api/v1/openapi.json":           s.openAPI,
		"/api/v1/feed":                   s.feedStream,
		"/api/v1/admin/state":            s.adminState,
		"/api/v1/admin/backup":           s.adminBackup,
		"/{$}":                           s.overviewPage,
		"/overdue":                       s.overduePage,
		"/dossiers/{code}":               s.dossierPage,
		"/feed":                          s.feedPage,
		"/irregularities":                s.irregularitiesPage,
		"/definitions":                   s.definitionsPage,
		"/static/{file}":                 s.static,
	}
	for _, r := range Routes() {
		h := handlers[r.Pattern]
		s.mux.Handle(r.Method+" "+r.Pattern, s.authorized(func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				s.writeError(w, r, err)
			}
		}))
	}
	if s.access.Load() != nil {
		s.mux.HandleFunc("GET /login", s.loginPage)
		s.mux.HandleFunc("POST /login", s.loginPage)
		s.mux.HandleFunc("POST /logout", s.logout)
	}
	s.mux.Handle("/api/", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		if s.methodNotAllowed(w, r) {
			return
		}
		s.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such endpoint: " + r.URL.Path})
	}))
	s.mux.Handle("/", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		if s.methodNotAllowed(w, r) {
			return
		}
		s.notFoundPage(w, r)
	}))
}

// routeMethods are the methods methodNotAllowed tries a path with.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers a request that reached a catch-all pattern
// ("/api/" or "/") because its path is a route's but its method is not
// one the route takes: 405 with Allow listing those it takes, as the
// route's errors are answered (JSON, or a page for a page). It reports
// whether it answered. The catch-alls would otherwise shadow the mux's
// own 405, and a client would read "no such endpoint" for a path that
// exists.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) bool {
	var allow []string
	pattern := ""
	for _, m := range routeMethods {
		c := r.Clone(r.Context())
		c.Method = m
		if _, p := s.mux.Handler(c); p != "/" && p != "/api/" && p != "" {
			allow, pattern = append(allow, m), cmp.Or(pattern, p)
		}
	}
	if len(allow) == 0 {
		return false
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	r.Pattern = pattern // so that a page's error is a page
	s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
		msg: r.Method + " is not a method of " + r.URL.Path + "; it takes " + strings.Join(allow, ", "),
		vi:  "Trang " + r.URL.Path + " không nhận phương thức " + r.Method})
	return true
}

// handlerFunc serves a request or returns the error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type ctxKey struct{}

// ServeHTTP gives the request an id, serves it and logs it. Before any
// route it sets the headers every answer carries (secureHeaders), and
// refuses a request a server without access control is not addressed by
// (hostAllowed: 421) and a query string that does not parse whole
// (checkQuery: 400).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	secureHeaders(sw, r)
	if ae := s.precheck(r); ae != nil {
		_, r.Pattern = s.mux.Handler(r) // so that a page's error is a page
		s.writeError(sw, r, ae)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
		"duration", time.Since(start), "request_id", id, "user", sw.user)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	user   string // the authenticated user's name, for the log; "" if none
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

// apiError is an error with the HTTP status and stable code to answer.
type apiError struct {
	status int
	code   string // stable, e.g. "bad_parameter"
	msg    string
	param  string // the offending query parameter, if any
	vi     string // the message in Vietnamese, for dashboard pages; "" when only msg

	// allowed lists the parameters the endpoint takes, when the request
	// gave one unknown to it (param is then empty: the name given is not
	// repeated); nil otherwise.
	allowed []string
}

func (e *apiError) Error() string { return e.msg }

func badParam(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_parameter", param: param, msg: param + ": " + sprintf(format, args...)}
}

// writeError is the one place that maps errors to responses.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, workflow.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, code: "not_found", msg: "no dossier has this code"}
	case errors.Is(err, context.Canceled):
		ae = &apiError{status: 499, code: "canceled", msg: "request canceled"}
	default:
		s.log.Error("http internal error", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error"}
	}
	if isPage(r) {
		s.renderError(w, r, ae)
		return
	}
	writeJSON(w, ae.status, api.ErrorResponse{Error: api.Error{
		Code: ae.code, Message: ae.msg, Parameter: ae.param, Allowed: ae.allowed, RequestID: requestID(r),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Metrics == nil {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "metrics are not enabled"}
	}
	s.cfg.Metrics.ServeHTTP(w, r)
	return nil
}
