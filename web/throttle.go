package web

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limits bounds what one client, one user or all of them together can
// hold of a Server: dashboard sessions, failed authentications, live-feed
// streams and reconciliations. A zero field takes its default.
type Limits struct {
	// SessionIdle ends a dashboard session that made no request for this
	// long. Default DefaultSessionIdle (30 minutes).
	SessionIdle time.Duration
	// SessionLifetime ends a dashboard session this long after its login,
	// active or not. Default DefaultSessionLifetime (8 hours).
	SessionLifetime time.Duration
	// AuthFailures is how many failed authentications (a wrong token at
	// POST /login, or a bearer token no user has) one client address may
	// make within AuthWindow; the next attempt from it answers 429 with
	// Retry-After until AuthWindow has passed since the last counted
	// failure. Default DefaultAuthFailures (10).
	AuthFailures int
	// AuthWindow is the window of AuthFailures. Default DefaultAuthWindow
	// (1 minute).
	AuthWindow time.Duration
	// FeedStreams is how many live-feed streams (GET /api/v1/feed) one
	// user may hold open at once; the next answers 429. Without access
	// control, the streams are counted by client address instead. Default
	// DefaultFeedStreams (4).
	FeedStreams int
	// Reconciles is how many reconciliations (POST /api/v1/reconcile and
	// POST /reconcile) the server runs at once, each holding an export of
	// up to reconcile.MaxBytes and its parsed rows in memory; the next
	// answers 503 with Retry-After. Default DefaultReconciles (2).
	Reconciles int
}

// The defaults of Limits.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 8 * time.Hour
	DefaultAuthFailures    = 10
	DefaultAuthWindow      = time.Minute
	DefaultFeedStreams     = 4
	DefaultReconciles      = 2
)

// withDefaults returns the limits with each zero or negative field set to
// its default.
func (l Limits) withDefaults() Limits {
	if l.SessionIdle <= 0 {
		l.SessionIdle = DefaultSessionIdle
	}
	if l.SessionLifetime <= 0 {
		l.SessionLifetime = DefaultSessionLifetime
	}
	if l.AuthFailures <= 0 {
		l.AuthFailures = DefaultAuthFailures
	}
	if l.AuthWindow <= 0 {
		l.AuthWindow = DefaultAuthWindow
	}
	if l.FeedStreams <= 0 {
		l.FeedStreams = DefaultFeedStreams
	}
	if l.Reconciles <= 0 {
		l.Reconciles = DefaultReconciles
	}
	return l
}

// maxFailingClients caps the addresses the table of failed
// authentications holds at once; beyond it the entries whose window has
// passed go first, then the least recently failing.
const maxFailingClients = 10000

// reconcileRetry is the Retry-After of a reconciliation refused because
// others run.
const reconcileRetry = 10 * time.Second

// limiter holds what Limits bounds, but sessions: the failed
// authentications by client, the live-feed streams by user and the
// reconciliations running.
type limiter struct {
	limits     Limits
	failures   *failureTable
	reconciles chan struct{} // one element per reconciliation running

	mu    sync.Mutex     // guards feeds
	feeds map[string]int // live-feed streams open, by user (or client address)
}

func newLimiter(l Limits) *limiter {
	return &limiter{limits: l, failures: newFailureTable(l.AuthFailures, l.AuthWindow, maxFailingClients),
		reconciles: make(chan struct{}, l.Reconciles), feeds: map[string]int{}}
}

// clientKey returns the client an address is counted as: its IP, or for
// IPv6 its /64, which one client usually holds whole. X-Forwarded-For is
// never read: behind a proxy every client is the proxy.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// failureEntry is one client's failed authentications.
type failureEntry struct {
	start time.Time // the first failure of the window
	count int       // failures since start
	last  time.Time // the last failure
	until time.Time // blocked until then; zero when not blocked
}

// failureTable counts failed authentications by client and blocks a
// client that reaches limit within window, for a window. It holds at most
// max clients.
type failureTable struct {
	limit  int
	window time.Duration
	max    int

	mu sync.Mutex // guards m
	m  map[string]*failureEntry
}

func newFailureTable(limit int, window time.Duration, max int) *failureTable {
	return &failureTable{limit: limit, window: window, max: max, m: map[string]*failureEntry{}}
}

// blocked reports whether the client is blocked at now, and for how long
// still. A block that has passed is forgotten with its count.
func (ft *failureTable) blocked(key string, now time.Time) (time.Duration, bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	e := ft.m[key]
	switch {
	case e == nil || e.until.IsZero():
		return 0, false
	case now.Before(e.until):
		return e.until.Sub(now), true
	}
	delete(ft.m, key)
	return 0, false
}

// fail counts a failed authentication of the client at now; the one that
// reaches the limit within the window blocks the client for a window.
func (ft *failureTable) fail(key string, now time.Time) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	e := ft.m[key]
	if e == nil {
		if len(ft.m) >= ft.max {
			ft.evict(now)
		}
		e = &failureEntry{start: now}
		ft.m[key] = e
	}
	if now.Sub(e.start) >= ft.window {
		e.start, e.count = now, 0
	}
	e.count++
	e.last = now
	if e.count >= ft.limit {
		e.until = now.Add(ft.window)
	}
}

// evict makes room for one client: it forgets every client neither
// blocked nor within its window, and if none was, the least recently
// failing client not blocked, or if all are, the one whose block ends
// first. ft.mu is held.
func (ft *failureTable) evict(now time.Time) {
	var victim string
	var victimEntry *failureEntry
	for k, e := range ft.m {
		blocked := now.Before(e.until)
		if !blocked && now.Sub(e.start) >= ft.window {
			delete(ft.m, k)
			continue
		}
		switch {
		case victimEntry == nil,
			!blocked && (now.Before(victimEntry.until) || e.last.Before(victimEntry.last)),
			blocked && now.Before(victimEntry.until) && e.until.Before(victimEntry.until):
			victim, victimEntry = k, e
		}
	}
	if len(ft.m) >= ft.max && victimEntry != nil {
		delete(ft.m, victim)
	}
}

// len returns how many clients the table holds.
func (ft *failureTable) len() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.m)
}

// has reports whether the table holds the client.
func (ft *failureTable) has(key string) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.m[key] != nil
}

// errThrottled answers an authentication from a client blocked for its
// failures.
var errThrottled = &apiError{status: http.StatusTooManyRequests, code: "too_many_requests",
	msg: "too many failed authentications from this address; retry later",
	vi:  "Quá nhiều lần đăng nhập sai từ địa chỉ này; hãy thử lại sau"}

// retryAfter sets the Retry-After header to d in whole seconds, at least
// one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(int64(max((d+time.Second-1)/time.Second, 1)), 10))
}

// throttled answers 429 to a client blocked for its failed
// authentications, and logs the refusal.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	s.refused(r, slog.LevelWarn, "throttled", "")
	retryAfter(w, retry)
	s.writeError(w, r, errThrottled)
}

// refused logs a refused request with its client address (r.RemoteAddr,
// never a forwarded one).
func (s *Server) refused(r *http.Request, level slog.Level, reason, user string) {
	s.log.Log(r.Context(), level, "http request refused", "reason", reason, "client", r.RemoteAddr,
		"method", r.Method, "path", r.URL.Path, "user", user, "request_id", requestID(r))
}

// feedSlot takes one of the live-feed places of the request's user (of
// its client address without access control), or answers 429 when the
// user holds them all. release gives the place back.
func (s *Server) feedSlot(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	key := "address " + clientKey(r.RemoteAddr)
	if u := userFrom(r.Context()); u != nil {
		key = "user " + u.Name
	}
	l := s.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.feeds[key] >= l.limits.FeedStreams {
		retryAfter(w, feedKeepAlive)
		return nil, &apiError{status: http.StatusTooManyRequests, code: "too_many_requests",
			msg: "too many live-feed streams open: close one (" + strconv.Itoa(l.limits.FeedStreams) + " at most)"}
	}
	l.feeds[key]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.feeds[key]--; l.feeds[key] <= 0 {
			delete(l.feeds, key)
		}
	}, nil
}

// reconcileSlot takes one of the server's reconciliation places, or
// answers 503 when every one is taken. release gives the place back.
func (s *Server) reconcileSlot(w http.ResponseWriter) (release func(), err error) {
	select {
	case s.limiter.reconciles <- struct{}{}:
		return func() { <-s.limiter.reconciles }, nil
	default:
		retryAfter(w, reconcileRetry)
		return nil, &apiError{status: http.StatusServiceUnavailable, code: "busy",
			msg: "other reconciliations are running; retry in a moment",
			vi:  "Đang có các lần đối soát khác; hãy thử lại sau ít phút"}
	}
}
