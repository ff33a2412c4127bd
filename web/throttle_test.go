package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

// fromAddr returns a client of the server whose connections come from the
// loopback address ip (any of 127.0.0.0/8 on Linux).
func fromAddr(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestAuthThrottle: after AuthFailures failed authentications within
// AuthWindow from one address, every attempt from it answers 429 with
// Retry-After until the window has passed since the last failure; other
// addresses and sessions go on; every refusal is logged with the client
// address.
func TestAuthThrottle(t *testing.T) {
	const failures, window = 3, time.Minute
	as := newAuthServer(t, Config{Limits: Limits{AuthFailures: failures, AuthWindow: window}},
		testUser{"ana", "viewer", nil})
	c := as.session(t, "ana")

	// Successful requests are never throttled, and do not count.
	for i := range 3 * failures {
		if resp := as.api(t, as.tokens["ana"]); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("request %d with a good token = %d, want 404 (signed in)", i+1, resp.StatusCode)
		}
	}
	// Failures spread over more than a window never block.
	for i := range 2 * failures {
		if resp := as.api(t, "hoso_wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d, %v apart = %d, want 401", i+1, window/2, resp.StatusCode)
		}
		as.clock.Add(window/time.Duration(failures-1) + time.Second)
	}

	// failures wrong tokens (the login form's count too) within the window...
	for i := range failures {
		var resp *http.Response
		if i%2 == 0 {
			resp = as.api(t, "hoso_wrong")
		} else {
			resp = as.login(t, "hoso_wrong", "/")
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, resp.StatusCode)
		}
		as.clock.Add(time.Second)
	}
	// ...and every attempt answers 429, a good token's too, without being
	// checked; X-Forwarded-For changes nothing.
	check429 := func(what string, resp *http.Response, retry string) {
		t.Helper()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != retry {
			t.Errorf("%s while throttled = %d, Retry-After %q; want 429, %s", what, resp.StatusCode, resp.Header.Get("Retry-After"), retry)
		}
	}
	check429("a wrong token", as.api(t, "hoso_wrong"), "59")
	check429("a good token", as.api(t, as.tokens["ana"]), "59")
	check429("a login with a good token", as.login(t, as.tokens["ana"], "/"), "59")
	resp, err := as.client.PostForm(as.URL+"/login", url.Values{"token": {as.tokens["ana"]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Too many failed sign-ins") || len(resp.Cookies()) != 0 {
		t.Errorf("a login while throttled = %d %s, cookies %v; want the form saying why, no cookie", resp.StatusCode, body, resp.Cookies())
	}
	req, _ := http.NewRequest("GET", as.URL+"/api/v1/no-such-route", nil)
	req.Header.Set("Authorization", "Bearer "+as.tokens["ana"])
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	check429("a good token with X-Forwarded-For", as.do(t, req), "59")
	// The session of a login made before goes on; so does another address.
	if got := as.page(t, c); got != http.StatusNotFound {
		t.Errorf("a session while its address is throttled = %d, want 404", got)
	}
	req, _ = http.NewRequest("GET", as.URL+"/api/v1/no-such-route", nil)
	req.Header.Set("Authorization", "Bearer hoso_wrong")
	resp, err = fromAddr(t, "127.0.0.2").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token from another address = %d, want 401", resp.StatusCode)
	}

	// The attempts refused with 429 do not prolong the block; it ends a
	// window after the failure that reached the limit.
	as.clock.Add(window - time.Second - time.Nanosecond)
	check429("a good token a nanosecond before the end", as.api(t, as.tokens["ana"]), "1")
	as.clock.Add(time.Nanosecond)
	if resp := as.api(t, as.tokens["ana"]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a good token once the window passed = %d, want 404", resp.StatusCode)
	}
	if resp := as.api(t, "hoso_wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token once the window passed = %d, want 401 (counted afresh)", resp.StatusCode)
	}

	// Every refusal names the client address, never a token.
	logs := as.log.String()
	for _, want := range []string{
		`msg="http request refused" reason=unauthenticated client=127.0.0.1:`,
		`msg="http request refused" reason=throttled client=127.0.0.1:`,
		`msg="dashboard login refused" client=127.0.0.1:`,
		`msg="http request refused" reason=unauthenticated client=127.0.0.2:`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no line with %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "203.0.113.9") || strings.Contains(logs, as.tokens["ana"]) {
		t.Errorf("the log names the forwarded address or a token:\n%s", logs)
	}
}

// TestFailureTableBounded: the table of failing addresses holds at most
// its capacity, forgetting the entries whose window has passed first,
// then the least recently failing.
func TestFailureTableBounded(t *testing.T) {
	clock := newFakeClock()
	ft := newFailureTable(3, time.Minute, 4)
	for i := range 4 {
		ft.fail(fmt.Sprintf("192.0.2.%d", i), clock.Now())
		clock.Add(time.Second)
	}
	if n := ft.len(); n != 4 {
		t.Fatalf("table after 4 addresses = %d entries", n)
	}
	ft.fail("192.0.2.1", clock.Now()) // 192.0.2.0 is now the least recent
	ft.fail("192.0.2.9", clock.Now())
	if n := ft.len(); n != 4 {
		t.Errorf("table over its capacity = %d entries, want 4", n)
	}
	if ft.has("192.0.2.0") || !ft.has("192.0.2.1") || !ft.has("192.0.2.9") {
		t.Errorf("full table: the least recently failing address was not the one evicted")
	}
	// Entries whose window has passed go first, all of them.
	clock.Add(time.Minute)
	ft.fail("192.0.2.1", clock.Now())
	ft.fail("192.0.2.10", clock.Now())
	if n := ft.len(); n != 2 {
		t.Errorf("table after the window = %d entries, want the 2 recent ones", n)
	}
	// A blocked address stays while blocked, however full the table.
	for range 3 {
		ft.fail("192.0.2.66", clock.Now())
	}
	for i := range 10 {
		ft.fail(fmt.Sprintf("198.51.100.%d", i), clock.Now())
	}
	if _, blocked := ft.blocked("192.0.2.66", clock.Now()); !blocked {
		t.Errorf("a blocked address was evicted to make room")
	}
}

// TestFailureWindow: failures count within a window from the first; one
// exactly a window after it starts a new count.
func TestFailureWindow(t *testing.T) {
	clock := newFakeClock()
	ft := newFailureTable(2, time.Minute, 10)
	ft.fail("192.0.2.1", clock.Now())
	clock.Add(time.Minute)
	ft.fail("192.0.2.1", clock.Now())
	if _, blocked := ft.blocked("192.0.2.1", clock.Now()); blocked {
		t.Errorf("two failures a window apart blocked the client")
	}
	clock.Add(time.Minute - time.Nanosecond)
	ft.fail("192.0.2.1", clock.Now())
	if retry, blocked := ft.blocked("192.0.2.1", clock.Now()); !blocked || retry != time.Minute {
		t.Errorf("two failures within a window: blocked %t for %v, want a window", blocked, retry)
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:5555", "127.0.0.1"},
		{"192.0.2.7:80", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"}, // one /64 is one client
		{"[2001:db8:1:2::9]:1", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"pipe", "pipe"},
	} {
		if got := clientKey(tc.addr); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestFeedStreamsPerUser: a user holds at most FeedStreams live-feed
// streams; the next answers 429, other users are not counted with it, and
// a stream that ends frees its place.
func TestFeedStreamsPerUser(t *testing.T) {
	feed := NewFeed(16)
	as := newAuthServer(t, Config{Feed: feed, Limits: Limits{FeedStreams: 2}},
		testUser{"ana", "auditor", nil}, testUser{"ba", "auditor", nil})
	defer feed.Close() // ends the streams still open, which Close of the server waits for

	open := func(name string) (int, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", as.URL+"/api/v1/feed", nil)
		req.Header.Set("Authorization", "Bearer "+as.tokens[name])
		resp, err := as.client.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			l, _ := bufio.NewReader(resp.Body).ReadString('\n') // the stream is open on the server
			if l != "retry: 3000\n" {
				t.Fatalf("the stream opens with %q", l)
			}
			return resp.StatusCode, func() { cancel(); resp.Body.Close() }
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("feed refused with %d and no Retry-After", resp.StatusCode)
		}
		resp.Body.Close()
		cancel()
		return resp.StatusCode, func() {}
	}
	st1, close1 := open("ana")
	st2, close2 := open("ana")
	defer close2()
	if st1 != 200 || st2 != 200 {
		t.Fatalf("ana's first two streams = %d, %d", st1, st2)
	}
	if st, _ := open("ana"); st != http.StatusTooManyRequests {
		t.Errorf("ana's third stream = %d, want 429", st)
	}
	st, closeB := open("ba")
	defer closeB()
	if st != http.StatusOK {
		t.Errorf("ba's first stream while ana holds two = %d, want 200", st)
	}
	close1()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, c := open("ana")
		if st == http.StatusOK {
			defer c()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ana's stream after closing one = %d for 10s, want 200", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _ := open("ana"); st != http.StatusTooManyRequests {
		t.Errorf("ana's stream after taking the freed place = %d, want 429", st)
	}
}

// TestFeedStreamsPerAddress: without access control, the live-feed
// streams are counted by client address.
func TestFeedStreamsPerAddress(t *testing.T) {
	feed := NewFeed(16)
	srv := newTestServer(New(Config{Feed: feed, Limits: Limits{FeedStreams: 1}}))
	defer srv.Close()
	defer feed.Close()
	open := func(c *http.Client) int {
		t.Helper()
		resp, err := c.Get(srv.URL + "/api/v1/feed")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			_, _ = bufio.NewReader(resp.Body).ReadString('\n') // the stream is open on the server
			t.Cleanup(func() { resp.Body.Close() })
		} else {
			resp.Body.Close()
		}
		return resp.StatusCode
	}
	one, two := fromAddr(t, "127.0.0.1"), fromAddr(t, "127.0.0.2")
	if got := open(one); got != http.StatusOK {
		t.Fatalf("the first stream from 127.0.0.1 = %d", got)
	}
	if got := open(one); got != http.StatusTooManyRequests {
		t.Errorf("a second stream from 127.0.0.1 = %d, want 429", got)
	}
	if got := open(two); got != http.StatusOK {
		t.Errorf("a stream from 127.0.0.2 = %d, want 200", got)
	}
}

// codesStore is a store that knows no dossier, enough for a
// reconciliation that does not look for missing dossiers.
type codesStore struct{ Store }

func (codesStore) DossiersByCode(context.Context, []string) (map[string]*workflow.Dossier, error) {
	return map[string]*workflow.Dossier{}, nil
}

// TestReconcileConcurrency: the server runs at most Reconciles
// reconciliations at once, the API's and the page's together; the next
// answers 503 with Retry-After, and is taken once the first has ended.
func TestReconcileConcurrency(t *testing.T) {
	h := New(Config{Store: codesStore{}, Limits: Limits{Reconciles: 1}})
	srv := newTestServer(h)
	defer srv.Close()
	const export = "ma_ho_so,trang_thai\n000.00.12.H57-251001-0001,4\n"
	post := func(body io.Reader) *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1/reconcile?format=csv&scope=none", "text/csv", body)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	postPage := func() *http.Response {
		t.Helper()
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "export.csv")
		_, _ = io.WriteString(fw, export)
		_ = mw.WriteField("scope", "none")
		mw.Close()
		resp, err := http.Post(srv.URL+"/reconcile", mw.FormDataContentType(), strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	// A slow upload: the first lines now, the rest when the test says.
	pr, pw := io.Pipe()
	defer pw.Close()
	first := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/reconcile?format=csv&scope=none", pr)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- nil
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp
	}()
	if _, err := io.WriteString(pw, export); err != nil {
		t.Fatal(err)
	}
	// The slow upload holds the only place once the server took it.
	deadline := time.Now().Add(10 * time.Second)
	for len(h.limiter.reconciles) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow upload took no place within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp := post(strings.NewReader(export))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("an upload while another runs = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := postPage(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the page's upload while another runs = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	pw.Close()
	if r := <-first; r == nil || r.StatusCode != http.StatusOK {
		t.Fatalf("the slow upload = %v, want 200", r)
	}
	if resp := post(strings.NewReader(export)); resp.StatusCode != http.StatusOK {
		t.Errorf("an upload after the slow one ended = %d, want 200", resp.StatusCode)
	}
	if resp := postPage(); resp.StatusCode != http.StatusOK {
		t.Errorf("the page's upload after the slow one ended = %d, want 200", resp.StatusCode)
	}
}

// endless is a CSV export that never ends, counting what was read of it.
type endless struct{ sent atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	const line = "000.00.12.H57-251001-0001,4\n"
	n := e.sent.Load()
	for i := range p {
		p[i] = line[(n+int64(i))%int64(len(line))]
	}
	e.sent.Add(int64(len(p)))
	return len(p), nil
}

// TestReconcileBodyLimit: an upload is cut at its limit while it streams:
// a body four times the limit answers 413, the server having stopped
// reading it soon after the limit.
func TestReconcileBodyLimit(t *testing.T) {
	srv := newTestServer(New(Config{Store: codesStore{}}))
	defer srv.Close()
	body := &endless{}
	limit := int64(reconcile.MaxBytes + multipartOverhead)
	resp, err := http.Post(srv.URL+"/api/v1/reconcile?format=csv&scope=none", "text/csv",
		io.MultiReader(strings.NewReader("ma_ho_so,trang_thai\n"), io.LimitReader(body, 4*limit)))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an endless upload = %d, want 413", resp.StatusCode)
		}
	}
	// The client may see its connection closed instead of the answer; either
	// way the server stopped reading soon after the limit (what the client
	// sent beyond it sits in socket buffers).
	if body.sent.Load() >= 2*limit {
		t.Errorf("the server read %d bytes of an endless upload, limit %d", body.sent.Load(), limit)
	}
}

// TestLimitsDefaults: a zero or negative limit takes its default; a set
// one is kept.
func TestLimitsDefaults(t *testing.T) {
	def := Limits{SessionIdle: DefaultSessionIdle, SessionLifetime: DefaultSessionLifetime, AuthFailures: DefaultAuthFailures,
		AuthWindow: DefaultAuthWindow, FeedStreams: DefaultFeedStreams, Reconciles: DefaultReconciles}
	if def != (Limits{SessionIdle: 30 * time.Minute, SessionLifetime: 8 * time.Hour, AuthFailures: 10, AuthWindow: time.Minute, FeedStreams: 4, Reconciles: 2}) {
		t.Errorf("the documented defaults changed: %+v", def)
	}
	if got := (Limits{}).withDefaults(); got != def {
		t.Errorf("Limits{}.withDefaults() = %+v, want %+v", got, def)
	}
	if got := (Limits{SessionIdle: -1, SessionLifetime: -1, AuthFailures: -1, AuthWindow: -1, FeedStreams: -1, Reconciles: -1}).withDefaults(); got != def {
		t.Errorf("negative limits withDefaults() = %+v, want %+v", got, def)
	}
	set := Limits{SessionIdle: 1, SessionLifetime: 2, AuthFailures: 3, AuthWindow: 4, FeedStreams: 5, Reconciles: 6}
	if got := set.withDefaults(); got != set {
		t.Errorf("set limits withDefaults() = %+v, want them kept", got)
	}
}
