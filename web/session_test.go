package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testUser is a user of an access file built by testAccess.
type testUser struct {
	name, role string
	agencies   []string
}

// testAccess returns an Access of the users. A user named in tokens keeps
// its token; the others get a new one, put in tokens.
func testAccess(t *testing.T, tokens map[string]string, users ...testUser) *Access {
	t.Helper()
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range users {
		tok, ok := tokens[u.name]
		if !ok {
			var err error
			if tok, _, err = NewToken(); err != nil {
				t.Fatal(err)
			}
			tokens[u.name] = tok
		}
		fmt.Fprintf(&b, "  - name: %s\n    token_sha256: %s\n    role: %s\n", u.name, HashToken(tok), u.role)
		if len(u.agencies) > 0 {
			fmt.Fprintf(&b, "    agencies: [%s]\n", strings.Join(u.agencies, ", "))
		}
	}
	a, err := ParseAccess(strings.NewReader(b.String()), "access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log buffer the server's goroutines write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// noRedirect is a client that returns redirects instead of following them.
func noRedirect(c *http.Client) *http.Client {
	c2 := *c
	c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c2
}

// authServer is a server with access control over the users, its clock
// and its log.
type authServer struct {
	*httptest.Server
	s      *Server
	clock  *fakeClock
	log    *syncBuffer
	tokens map[string]string
	client *http.Client // follows no redirect
}

func newAuthServer(t *testing.T, cfg Config, users ...testUser) *authServer {
	t.Helper()
	as := &authServer{clock: newFakeClock(), log: &syncBuffer{}, tokens: map[string]string{}}
	cfg.Access = testAccess(t, as.tokens, users...)
	cfg.Now = as.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(as.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	as.s = New(cfg)
	as.Server = newTestServer(as.s)
	t.Cleanup(as.Close)
	as.client = noRedirect(as.Client())
	return as
}

// do sends a request and returns its response, body read and closed.
func (as *authServer) do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	// The transport, not the client: a Location a browser would follow
	// but the client refuses to parse must reach the test.
	resp, err := as.Client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp
}

// login posts the form of /login and returns the response.
func (as *authServer) login(t *testing.T, token, next string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", as.URL+"/login", strings.NewReader(url.Values{"token": {token}, "next": {next}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return as.do(t, req)
}

// session logs the user in and returns the session cookie.
func (as *authServer) session(t *testing.T, name string) *http.Cookie {
	t.Helper()
	resp := as.login(t, as.tokens[name], "/")
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login as %s = %d with no session cookie", name, resp.StatusCode)
	return nil
}

// page asks for a page no route has with the cookie: 404 when signed in,
// a redirect to the login form when not.
func (as *authServer) page(t *testing.T, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", as.URL+"/no-such-page", nil)
	if c != nil {
		req.AddCookie(c)
	}
	return as.do(t, req).StatusCode
}

// api asks for an API path no route has with the bearer token: 404 for
// a user, 401 for none.
func (as *authServer) api(t *testing.T, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", as.URL+"/api/v1/no-such-route", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return as.do(t, req)
}

// TestLoginRedirect: after a login, the form's next goes only to a clean
// path of this site; anything a browser could read as another site goes
// to /.
func TestLoginRedirect(t *testing.T) {
	as := newAuthServer(t, Config{}, testUser{"ana", "viewer", nil})
	for _, tc := range []struct{ next, want string }{
		{"/overdue?agency=H57", "/overdue?agency=H57"},
		{"/dossiers/000.00.12.H57-251001-0001", "/dossiers/000.00.12.H57-251001-0001"},
		{"/", "/"},
		{"/feed?reason=status_mismatch#top", "/feed?reason=status_mismatch#top"},
		{"", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/%0a/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/%20/evil.example", "/"},
		{"/\u00a0/evil.example", "/"},
		{"/\u2028/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"/a\\b", "/"},
		{"/%5Cevil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%zz", "/"},
		{"https://evil.example/", "/"},
		{"evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"\t/evil.example", "/"},
	} {
		resp := as.login(t, as.tokens["ana"], tc.next)
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tc.want {
			t.Errorf("POST /login next=%q = %d, Location %q; want 303 to %q", tc.next, resp.StatusCode, got, tc.want)
		}
	}
}

// TestSession: the session cookie holds a random id, not the token, and
// ends at logout, after its idle time, after its lifetime, and when the
// access file changes its user.
func TestSession(t *testing.T) {
	const idle, lifetime = 30 * time.Minute, 2 * time.Hour
	as := newAuthServer(t, Config{Limits: Limits{SessionIdle: idle, SessionLifetime: lifetime}},
		testUser{"ana", "viewer", nil}, testUser{"ba", "auditor", []string{"H57"}})

	c := as.session(t, "ana")
	if strings.Contains(c.Value, as.tokens["ana"]) || strings.Contains(c.Value, strings.TrimPrefix(as.tokens["ana"], tokenPrefix)) ||
		strings.Contains(c.Value, HashToken(as.tokens["ana"])) {
		t.Errorf("the session cookie %q holds the token or its hash", c.Value)
	}
	if len(c.Value) < 43 { // 32 random bytes, in hex or base64
		t.Errorf("the session id %q is shorter than 32 random bytes", c.Value)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure without TLS", c)
	}
	if c2 := as.session(t, "ana"); c2.Value == c.Value {
		t.Errorf("two logins gave the same session id %q", c.Value)
	}
	if got := as.page(t, c); got != http.StatusNotFound {
		t.Fatalf("a page with the session = %d, want 404 (signed in)", got)
	}
	// A cookie holding the token itself is no session.
	if got := as.page(t, &http.Cookie{Name: sessionCookie, Value: as.tokens["ana"]}); got != http.StatusSeeOther {
		t.Errorf("a page with the token as the cookie = %d, want 303 to the login form", got)
	}
	// The bearer token keeps working on the API.
	if resp := as.api(t, as.tokens["ana"]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("API with the bearer token = %d, want 404 (signed in)", resp.StatusCode)
	}
	if resp := as.api(t, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with nothing = %d, want 401", resp.StatusCode)
	}

	// A login from another site's page is refused: no session.
	req, _ := http.NewRequest("POST", as.URL+"/login", strings.NewReader(url.Values{"token": {as.tokens["ana"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp := as.do(t, req); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("a cross-site login = %d with cookies %v, want 403 and none", resp.StatusCode, resp.Cookies())
	}
	// A logout from another site's page is refused and leaves the session.
	req, _ = http.NewRequest("POST", as.URL+"/logout", nil)
	req.AddCookie(c)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp := as.do(t, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site logout = %d, want 403", resp.StatusCode)
	}
	if got := as.page(t, c); got != http.StatusNotFound {
		t.Errorf("after a refused cross-site logout, the session = %d, want 404 (still signed in)", got)
	}
	// Logout ends the session on the server: the old cookie is refused.
	req, _ = http.NewRequest("POST", as.URL+"/logout", nil)
	req.AddCookie(c)
	resp := as.do(t, req)
	if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Value != "" || cs[0].MaxAge >= 0 {
		t.Errorf("logout = %d, cookies %+v; want the cookie cleared", resp.StatusCode, cs)
	}
	if got := as.page(t, c); got != http.StatusSeeOther {
		t.Errorf("a page with the cookie of a logged-out session = %d, want 303 to the login form", got)
	}
	req, _ = http.NewRequest("GET", as.URL+"/api/v1/no-such-route", nil)
	req.AddCookie(c)
	if resp := as.do(t, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API with the cookie of a logged-out session = %d, want 401", resp.StatusCode)
	}

	// Idle: each request starts the idle time again; a session unused for
	// exactly SessionIdle has ended.
	c = as.session(t, "ana")
	for range 3 {
		as.clock.Add(idle - time.Second)
		if got := as.page(t, c); got != http.StatusNotFound {
			t.Fatalf("a session used %v ago = %d, want 404 (signed in)", idle-time.Second, got)
		}
	}
	as.clock.Add(idle)
	if got := as.page(t, c); got != http.StatusSeeOther {
		t.Errorf("a session idle for %v = %d, want 303 to the login form", idle, got)
	}

	// Lifetime: a session in use ends SessionLifetime after its login.
	c = as.session(t, "ana")
	for used := time.Duration(0); used+idle/2 < lifetime; used += idle / 2 {
		as.clock.Add(idle / 2)
		if got := as.page(t, c); got != http.StatusNotFound {
			t.Fatalf("a session in use %v after login = %d, want 404 (signed in)", used+idle/2, got)
		}
	}
	as.clock.Add(idle / 2) // exactly the lifetime since the login
	if got := as.page(t, c); got != http.StatusSeeOther {
		t.Errorf("a session in use at its lifetime = %d, want 303 to the login form", got)
	}
}

// TestSessionAccessChange: replacing the access file ends the sessions of
// users removed, given another role, other agencies or a new token, and
// keeps the others.
func TestSessionAccessChange(t *testing.T) {
	users := []testUser{
		{"kept", "viewer", []string{"H57"}},
		{"removed", "viewer", nil},
		{"promoted", "viewer", nil},
		{"moved", "viewer", []string{"H57"}},
		{"rotated", "viewer", nil},
		{"renamed", "viewer", nil},
	}
	as := newAuthServer(t, Config{}, users...)
	sessions := map[string]*http.Cookie{}
	for _, u := range users {
		sessions[u.name] = as.session(t, u.name)
	}
	delete(as.tokens, "rotated")            // a new token for the same name, role and agencies
	as.tokens["bob"] = as.tokens["renamed"] // the same token under another name
	if err := as.s.SetAccess(testAccess(t, as.tokens,
		testUser{"kept", "viewer", []string{"H57"}},
		testUser{"promoted", "admin", nil},
		testUser{"moved", "viewer", []string{"X99"}},
		testUser{"rotated", "viewer", nil},
		testUser{"bob", "viewer", nil},
	)); err != nil {
		t.Fatal(err)
	}
	// Ended at the reload, not only when next used.
	if n := as.s.sessions.len(); n != 1 {
		t.Errorf("after the reload the server holds %d sessions, want 1 (kept's)", n)
	}
	for name, want := range map[string]int{"kept": 404, "removed": 303, "promoted": 303, "moved": 303, "rotated": 303, "renamed": 303} {
		if got := as.page(t, sessions[name]); got != want {
			t.Errorf("after the reload, the session of %s = %d, want %d", name, got, want)
		}
	}
}

// TestSessionSecureUnderTLS: over TLS the session cookie is Secure.
func TestSessionSecureUnderTLS(t *testing.T) {
	tokens := map[string]string{}
	srv := newTestTLSServer(New(Config{Access: testAccess(t, tokens, testUser{"ana", "viewer", nil})}))
	defer srv.Close()
	resp, err := noRedirect(srv.Client()).PostForm(srv.URL+"/login", url.Values{"token": {tokens["ana"]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("login over TLS: cookies %+v, want one Secure, HttpOnly, SameSite=Strict", cs)
	}
}
