package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hoso-vn/hoso/workflow"
)

// reach is how a route keeps a user scoped to some agencies within them.
type reach int

const (
	reachFree      reach = iota // the answer holds no dossier data of an agency
	reachAgencyArg              // the route filters by ?agency=: it is set to the user's agency
	reachDossier                // the route shows one dossier ({code}): 404 for another agency's
	reachSelf                   // the handler applies the scope itself (reconcile)
	reachAll                    // the answer spans every agency and cannot be filtered: 403 for scoped users
)

// rule is who may call a route.
type rule struct {
	role  Role
	reach reach
}

// accessRules gives, by "METHOD pattern" of Routes(), the least role a
// route needs and how it is scoped. A route absent from it needs
// RoleAdmin and is refused to scoped users: new routes are closed until
// listed here.
var accessRules = map[string]rule{
	"GET /healthz":                       {RoleNone, reachFree},
	"GET /readyz":                        {RoleNone, reachFree},
	"GET /static/{file}":                 {RoleNone, reachFree},
	"GET /metrics":                       {RoleAdmin, reachAll},
	"GET /api/v1/dossiers":               {RoleViewer, reachAgencyArg},
	"GET /api/v1/dossiers/{code}":        {RoleViewer, reachDossier},
	"GET /api/v1/dossiers/{code}/verify": {RoleViewer, reachDossier},
	"GET /api/v1/rejections":             {RoleViewer, reachAgencyArg},
	"GET /api/v1/mismatches":             {RoleViewer, reachAgencyArg},
	"GET /api/v1/irregularities":         {RoleViewer, reachAgencyArg},
	"GET /api/v1/definitions":            {RoleViewer, reachFree},
	"GET /api/v1/statuses":               {RoleViewer, reachFree},
	"GET /api/v1/openapi.json":           {RoleViewer, reachFree},
	"GET /api/v1/stats":                  {RoleViewer, reachAgencyArg},
	"POST /api/v1/reconcile":             {RoleAuditor, reachSelf}, // publish=true needs RoleAdmin
	"GET /reconcile":                     {RoleAuditor, reachFree},
	"POST /reconcile":                    {RoleAuditor, reachSelf},
	"GET /api/v1/audit/verify":           {RoleAuditor, reachAll},
	"GET /api/v1/audit/checkpoint":       {RoleAuditor, reachAll},
	"GET /api/v1/feed":                   {RoleAuditor, reachAgencyArg},
	"GET /{$}":                           {RoleViewer, reachAgencyArg},
	"GET /overdue":                       {RoleViewer, reachAgencyArg},
	"GET /dossiers/{code}":               {RoleViewer, reachDossier},
	"GET /feed":                          {RoleAuditor, reachAgencyArg},
	"GET /irregularities":                {RoleViewer, reachAgencyArg},
	"GET /api/v1/admin/state":            {RoleAdmin, reachAll},
	"GET /api/v1/admin/backup":           {RoleAdmin, reachAll},
	"GET /definitions":                   {RoleViewer, reachFree},
	// Not in Routes(): the not-found answers and the login form.
	"/api/":        {RoleViewer, reachFree},
	"/":            {RoleViewer, reachFree},
	"GET /login":   {RoleNone, reachFree},
	"POST /login":  {RoleNone, reachFree},
	"POST /logout": {RoleNone, reachFree},
}

// RouteRole returns the least role a route of Routes() needs, and whether
// a user scoped to some agencies may call it (filtered to them).
func RouteRole(r Route) (role Role, scopedOK bool) {
	ru := ruleOf(r.Method + " " + r.Pattern)
	return ru.role, ru.reach != reachAll
}

func ruleOf(pattern string) rule {
	if ru, ok := accessRules[pattern]; ok {
		return ru
	}
	if pattern == "" { // 405 and the like: tell only those signed in
		return rule{RoleViewer, reachFree}
	}
	return rule{RoleAdmin, reachAll}
}

type userKey struct{}

// userFrom returns the authenticated user of the request; nil when access
// control is off or the route is open.
func userFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// errUnauthenticated answers a request with no valid token.
var errUnauthenticated = &apiError{status: http.StatusUnauthorized, code: "unauthenticated",
	msg: "a valid token is required (Authorization: Bearer …)", vi: "Cần đăng nhập"}

func forbidden(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "forbidden", msg: msg, vi: "Không có quyền: " + msg}
}

// authorized wraps a handler of the mux with the access check.
func (s *Server) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := s.authorize(w, r); ok {
			h(w, r)
		}
	})
}

// authorize checks a routed request against accessRules when an access
// file is configured. It returns the request to serve (carrying the user,
// its agency argument scoped) or false when it has answered.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	access := s.access.Load()
	if access == nil {
		return r, true
	}
	pattern := r.Pattern
	ru := ruleOf(pattern)
	if ru.role == RoleNone {
		return r, true
	}
	page := pagePatterns[pattern] || pattern == "/"
	var (
		u  *User
		ok bool
	)
	if h := r.Header.Get("Authorization"); h != "" {
		// A token is an attempt: a client that failed too often is not
		// let try again until its block has passed.
		key, now := clientKey(r.RemoteAddr), s.now()
		if retry, blocked := s.limiter.failures.blocked(key, now); blocked {
			s.throttled(w, r, retry)
			return nil, false
		}
		if u, ok = access.Authenticate(bearerToken(h)); !ok {
			s.limiter.failures.fail(key, now)
		}
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		u, ok = s.sessions.user(c.Value, access, s.now(), true)
	}
	if !ok {
		if page && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" { // a browser
			s.refused(r, slog.LevelInfo, "unauthenticated", "")
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, false
		}
		s.refused(r, slog.LevelWarn, "unauthenticated", "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="hoso"`)
		s.writeError(w, r, errUnauthenticated)
		return nil, false
	}
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
	if sw, ok := w.(*statusWriter); ok {
		sw.user = u.Name
	}
	deny := func(msg string) (*http.Request, bool) {
		s.refused(r, slog.LevelWarn, "forbidden", u.Name)
		s.writeError(w, r, forbidden(msg))
		return nil, false
	}
	if u.Role < ru.role {
		return deny("this needs the " + ru.role.String() + " role")
	}
	if !u.Scoped() {
		return r, true
	}
	switch ru.reach {
	case reachAll:
		return deny("this spans every agency; a user scoped to agencies cannot see it")
	case reachAgencyArg:
		q := r.URL.Query()
		switch ag := q.Get("agency"); {
		case ag == "" && (len(u.Agencies) == 1 || page):
			q.Set("agency", u.Agencies[0]) // a page opens on the first; its filter offers the others
		case ag == "":
			s.writeError(w, r, badParam("agency", "choose one of your agencies: %s", strings.Join(u.Agencies, ", ")))
			return nil, false
		case !u.sees(ag):
			return deny("agency " + ag + " is not one of yours")
		}
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = q.Encode()
		return r2, true
	case reachDossier:
		d, _, err := s.cfg.Store.DossierHistory(r.Context(), r.PathValue("code"))
		if err == nil && !u.sees(d.Agency) {
			s.refused(r, slog.LevelWarn, "another agency", u.Name)
			err = workflow.ErrNotFound // no hint that the code exists
		}
		if err != nil {
			s.writeError(w, r, err)
			return nil, false
		}
	}
	return r, true
}

// stillAllowed reports whether the access in force now lets the
// request's user make it, with agency as its agency argument: for a
// request that lasts, such as a live-feed stream, authorized under an
// access file since replaced.
func (s *Server) stillAllowed(r *http.Request, agency string) bool {
	access := s.access.Load()
	ru := ruleOf(r.Pattern)
	if access == nil || ru.role == RoleNone {
		return true
	}
	var (
		u  *User
		ok bool
	)
	if h := r.Header.Get("Authorization"); h != "" {
		u, ok = access.Authenticate(bearerToken(h))
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		u, ok = s.sessions.user(c.Value, access, s.now(), false)
	}
	return ok && u.Role >= ru.role && u.sees(agency)
}

// scopeReconcile applies the user's role and agencies to a
// reconciliation: publishing needs RoleAdmin, and a scoped user
// reconciles only an agency of theirs.
func scopeReconcile(r *http.Request, opts *reconcileOptions) error {
	u := userFrom(r.Context())
	if u == nil {
		return nil
	}
	if opts.publish && u.Role < RoleAdmin {
		return forbidden("publishing corrections needs the admin role")
	}
	if !u.Scoped() {
		return nil
	}
	switch {
	case opts.agency == "" && len(u.Agencies) == 1:
		opts.agency = u.Agencies[0]
	case opts.agency == "":
		return badParam("agency", "choose one of your agencies: %s", strings.Join(u.Agencies, ", "))
	case !u.sees(opts.agency):
		return forbidden("agency " + opts.agency + " is not one of yours")
	}
	return nil
}

// bearerToken returns the token of an Authorization header, "" when it
// is not a bearer token.
func bearerToken(h string) string {
	scheme, tok, _ := strings.Cut(h, " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// safeNext returns next when it is a path of this site a browser cannot
// read as another site's address, and "/" otherwise: it must start with
// one "/" (not "//" or "/\"), hold no backslash, no control character
// and no white space, before or after percent-decoding, and parse as a
// URL without scheme or host. Browsers drop tabs and newlines from a
// Location and read a backslash as a slash, so that a tab or a
// backslash after the first slash leads to another site.
func safeNext(next string) string {
	decoded, err := url.PathUnescape(next)
	if err != nil {
		return "/"
	}
	for _, p := range []string{next, decoded} {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
			strings.ContainsRune(p, '\\') || strings.ContainsFunc(p, func(c rune) bool {
			return unicode.IsControl(c) || unicode.IsSpace(c) || c == utf8.RuneError
		}) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>hoso — Đăng nhập / Sign in</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main><h1>Đăng nhập / Sign in</h1>
{{if .Throttled}}<p class="error">Quá nhiều lần đăng nhập sai từ địa chỉ này; hãy thử lại sau / Too many failed sign-ins from this address; try again later</p>
{{else if .Failed}}<p class="error">Mã truy cập không đúng / Invalid token</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label>Mã truy cập / Access token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Đăng nhập / Sign in</button>
</form></main></body></html>
`))

// loginPage answers GET /login with the form and POST /login by checking
// the token and opening a session, its id in an HttpOnly,
// SameSite=Strict cookie. A client blocked for its failed
// authentications is answered 429 without its token being checked.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.FormValue("next"))
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		if err := crossOrigin.Check(r); err != nil {
			s.refused(r, slog.LevelWarn, "cross-origin", "")
			s.writeError(w, r, forbidden(err.Error()))
			return
		}
		key, now := clientKey(r.RemoteAddr), s.now()
		if retry, blocked := s.limiter.failures.blocked(key, now); blocked {
			s.refused(r, slog.LevelWarn, "throttled", "")
			retryAfter(w, retry)
			loginForm(w, http.StatusTooManyRequests, loginData{Next: next, Throttled: true})
			return
		}
		if u, ok := s.access.Load().Authenticate(r.PostFormValue("token")); ok {
			id, err := s.sessions.open(u, now)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
				Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
			s.log.Info("dashboard login", "user", u.Name, "client", r.RemoteAddr, "request_id", requestID(r))
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		s.limiter.failures.fail(key, now)
		s.log.Warn("dashboard login refused", "client", r.RemoteAddr, "request_id", requestID(r))
		loginForm(w, http.StatusUnauthorized, loginData{Next: next, Failed: true})
		return
	}
	loginForm(w, http.StatusOK, loginData{Next: next})
}

// loginData is what the login form shows.
type loginData struct {
	Next      string // the page to go to after the login
	Failed    bool   // the token given was wrong
	Throttled bool   // the client failed too often: no token is checked for now
}

// loginForm answers with the login form.
func loginForm(w http.ResponseWriter, status int, d loginData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginTemplate.Execute(w, d)
}

// logout ends the session on the server and clears its cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		s.refused(r, slog.LevelWarn, "cross-origin", "")
		s.writeError(w, r, forbidden(err.Error()))
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.close(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
