package engine_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// accessUsers are the users of the access test.
var accessUsers = []testutil.AccessUser{
	{Name: "viewer", Role: "viewer"},
	{Name: "auditor", Role: "auditor"},
	{Name: "admin", Role: "admin"},
	{Name: "viewer-h57", Role: "viewer", Agencies: []string{"H57"}},
	{Name: "auditor-h57", Role: "auditor", Agencies: []string{"H57"}},
	{Name: "admin-x99", Role: "admin", Agencies: []string{"X99"}},
	{Name: "viewer-two", Role: "viewer", Agencies: []string{"H57", "X99"}}, // not in the route table loop: see below
}

// writeAccessFile writes an access file for accessUsers and returns its
// path and each user's token.
func writeAccessFile(t *testing.T) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.yaml")
	return path, testutil.WriteAccess(t, path, accessUsers...)
}

// routeAccess is the role table the access control must implement,
// written out here independently of web's accessRules: the least role of
// each route ("" for anyone) and what a user scoped to one agency gets.
var routeAccess = map[string]struct {
	role   string
	scoped string // "filtered" (agency forced), "dossier" (404 for another agency's), "forbidden", "free"
}{
	"GET /healthz":                       {"", "free"},
	"GET /readyz":                        {"", "free"},
	"GET /static/{file}":                 {"", "free"},
	"GET /metrics":                       {"admin", "forbidden"},
	"GET /api/v1/dossiers":               {"viewer", "filtered"},
	"GET /api/v1/dossiers/{code}":        {"viewer", "dossier"},
	"GET /api/v1/dossiers/{code}/verify": {"viewer", "dossier"},
	"GET /api/v1/rejections":             {"viewer", "filtered"},
	"GET /api/v1/mismatches":             {"viewer", "filtered"},
	"GET /api/v1/irregularities":         {"viewer", "filtered"},
	"GET /api/v1/definitions":            {"viewer", "free"},
	"GET /api/v1/statuses":               {"viewer", "free"},
	"GET /api/v1/openapi.json":           {"viewer", "free"},
	"GET /api/v1/stats":                  {"viewer", "filtered"},
	"POST /api/v1/reconcile":             {"auditor", "free"},
	"GET /reconcile":                     {"auditor", "free"},
	"POST /reconcile":                    {"auditor", "free"},
	"GET /api/v1/audit/verify":           {"auditor", "forbidden"},
	"GET /api/v1/audit/checkpoint":       {"auditor", "forbidden"},
	"GET /api/v1/feed":                   {"auditor", "filtered"},
	"GET /{$}":                           {"viewer", "filtered"},
	"GET /overdue":                       {"viewer", "filtered"},
	"GET /dossiers/{code}":               {"viewer", "dossier"},
	"GET /feed":                          {"auditor", "filtered"},
	"GET /irregularities":                {"viewer", "filtered"},
	"GET /definitions":                   {"viewer", "free"},
	"GET /api/v1/admin/state":            {"admin", "forbidden"},
	"GET /api/v1/admin/backup":           {"admin", "forbidden"},
}

var roleRank = map[string]int{"": 0, "viewer": 1, "auditor": 2, "admin": 3}

// TestAccessControl calls every route of web.Routes() as each role,
// anonymous and scoped to one agency, against a running engine.
func TestAccessControl(t *testing.T) {
	path, tokens := writeAccessFile(t)
	cfg := testutil.Config(t.TempDir())
	cfg.Access = path
	in := testutil.Start(t, cfg)
	codeH57, codeX99 := "000.00.12.H57-251001-0001", "000.00.12.X99-251001-0001"
	nc, _ := testutil.Connect(t, in.NATSURL)
	// emit publishes an event and, for a submit, waits for its acceptance.
	emit := func(code, agency, action string) {
		t.Helper()
		ev := &workflow.Event{ID: "access-" + code + "-" + action, SourceURI: "/hoso/emit/tayninh", Source: "tayninh",
			Dossier: code, Action: action, Procedure: "1.004227", Agency: agency, Actor: "cb-01",
			Time: time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)}
		if action != "submit" {
			if _, err := testutil.PublishEvent(nc, ev, 10*time.Second); err != nil {
				t.Fatalf("emit: %v", err)
			}
			return
		}
		o, err := testutil.Emit(nc, ev, 10*time.Second)
		if err != nil || o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			t.Fatalf("emit: %v %s (%s) %s", err, o.Kind, o.Reason, o.MessageEN)
		}
	}
	emit(codeH57, "H57", "submit")
	emit(codeX99, "X99", "submit")

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// A wrong token counts against its client address (serve answers 429
	// after 10 within a minute): each comes from an address of its own.
	var strangers atomic.Int32
	stranger := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n := strangers.Add(1)
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(n))}}
			return d.DialContext(ctx, network, addr)
		}},
		CheckRedirect: client.CheckRedirect,
	}
	call := func(method, path, token string) (int, []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequestWithContext(ctx, method, in.HTTPURL+path, body)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		c := client
		if token == "hoso_not-a-token" {
			c = stranger
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		if strings.HasSuffix(path, "/feed") && resp.StatusCode == http.StatusOK {
			return resp.StatusCode, nil // a stream that does not end
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	concrete := func(pattern, code string) string {
		p := strings.NewReplacer("{code}", url.PathEscape(code), "{file}", "style.css", "{$}", "").Replace(pattern)
		return p
	}

	for _, r := range web.Routes() {
		want, ok := routeAccess[r.Method+" "+r.Pattern]
		if !ok {
			t.Errorf("%s %s: not in the test's role table; add it", r.Method, r.Pattern)
			continue
		}
		if role, scopedOK := web.RouteRole(r); role.String() != map[string]string{"": "anyone"}[want.role]+want.role || scopedOK != (want.scoped != "forbidden") {
			t.Errorf("web.RouteRole(%s %s) = %s, %t; want %q, %q", r.Method, r.Pattern, role, scopedOK, want.role, want.scoped)
		}
		path := concrete(r.Pattern, codeH57)
		page := !strings.HasPrefix(r.Pattern, "/api/") && want.role != "" && r.Pattern != "/metrics"
		// Anonymous, and a token nobody has.
		for _, tok := range []string{"", "hoso_not-a-token"} {
			st, _ := call(r.Method, path, tok)
			switch {
			case want.role == "" && (st == 401 || st == 403):
				t.Errorf("%s %s anonymous = %d, want it open", r.Method, path, st)
			case want.role != "" && page && r.Method == "GET" && tok == "" && st != http.StatusSeeOther:
				t.Errorf("%s %s anonymous = %d, want 303 to /login", r.Method, path, st)
			case want.role != "" && !(page && r.Method == "GET" && tok == "") && st != http.StatusUnauthorized:
				t.Errorf("%s %s with token %q = %d, want 401", r.Method, path, tok, st)
			}
		}
		for _, u := range accessUsers {
			if len(u.Agencies) > 1 {
				continue
			}
			st, body := call(r.Method, path, tokens[u.Name])
			scoped := u.Agencies != nil
			allowed := roleRank[u.Role] >= roleRank[want.role] && !(scoped && want.scoped == "forbidden")
			switch {
			case allowed && (st == 401 || st == 403):
				t.Errorf("%s %s as %s = %d %s, want allowed", r.Method, path, u.Name, st, body)
			case !allowed && st != http.StatusForbidden:
				t.Errorf("%s %s as %s = %d, want 403", r.Method, path, u.Name, st)
			}
			if !allowed || !scoped {
				continue
			}
			switch want.scoped {
			case "dossier": // H57's dossier: seen by viewer-h57, 404 to admin-x99
				if wantSt := map[bool]int{true: 200, false: 404}[u.Agencies[0] == "H57"]; st != wantSt {
					t.Errorf("%s %s as %s = %d, want %d", r.Method, path, u.Name, st, wantSt)
				}
			case "filtered":
				if r.Method == "GET" && !strings.Contains(r.Pattern, "feed") && st != 200 {
					t.Errorf("%s %s as %s = %d %s, want 200", r.Method, path, u.Name, st, body)
				}
				other := map[string]string{"H57": "X99", "X99": "H57"}[u.Agencies[0]]
				if st, _ := call(r.Method, path+"?agency="+other, tokens[u.Name]); st != http.StatusForbidden {
					t.Errorf("%s %s?agency=%s as %s = %d, want 403", r.Method, path, other, u.Name, st)
				}
			}
		}
	}

	// Lists and statistics hold only the scoped user's agency.
	var list struct {
		Items []struct {
			Code   string `json:"code"`
			Agency string `json:"agency"`
		} `json:"items"`
	}
	getAs := func(path, token string, v any) {
		t.Helper()
		st, body := call("GET", path, token)
		if st != 200 {
			t.Fatalf("GET %s = %d %s", path, st, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	getAs("/api/v1/dossiers", tokens["viewer-h57"], &list)
	if len(list.Items) != 1 || list.Items[0].Code != codeH57 {
		t.Errorf("dossiers as viewer-h57 = %+v, want only %s", list.Items, codeH57)
	}
	getAs("/api/v1/dossiers", tokens["viewer"], &list)
	if len(list.Items) != 2 {
		t.Errorf("dossiers as viewer = %+v, want both", list.Items)
	}
	if st, _ := call("GET", "/api/v1/dossiers/"+url.PathEscape(codeX99), tokens["viewer-h57"]); st != 404 {
		t.Errorf("X99's dossier as viewer-h57 = %d, want 404", st)
	}
	// A user of several agencies chooses one on the API; pages open on the first.
	if st, body := call("GET", "/api/v1/dossiers", tokens["viewer-two"]); st != http.StatusBadRequest || !strings.Contains(string(body), "H57, X99") {
		t.Errorf("dossiers as viewer-two without agency = %d %s, want 400 listing the agencies", st, body)
	}
	getAs("/api/v1/dossiers?agency=X99", tokens["viewer-two"], &list)
	if len(list.Items) != 1 || list.Items[0].Code != codeX99 {
		t.Errorf("dossiers?agency=X99 as viewer-two = %+v, want only %s", list.Items, codeX99)
	}
	if st, _ := call("GET", "/overdue", tokens["viewer-two"]); st != 200 {
		t.Errorf("/overdue as viewer-two = %d, want 200", st)
	}

	// So do rejections: one for each agency (resolving a dossier just
	// submitted is not a transition of the standard flow).
	emit(codeH57, "H57", "resolve")
	emit(codeX99, "X99", "resolve")
	var problems struct {
		Items []struct {
			Dossier string `json:"dossier"`
			Reason  string `json:"reason"`
		} `json:"items"`
	}
	for deadline := time.Now().Add(10 * time.Second); len(problems.Items) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("rejections as viewer = %+v after 10s, want both", problems.Items)
		}
		getAs("/api/v1/rejections", tokens["viewer"], &problems)
	}
	getAs("/api/v1/rejections", tokens["viewer-h57"], &problems)
	if len(problems.Items) != 1 || problems.Items[0].Dossier != codeH57 {
		t.Errorf("rejections as viewer-h57 = %+v, want only %s's", problems.Items, codeH57)
	}
	getAs("/api/v1/rejections?agency=X99", tokens["viewer-two"], &problems)
	if len(problems.Items) != 1 || problems.Items[0].Dossier != codeX99 {
		t.Errorf("rejections?agency=X99 as viewer-two = %+v, want only %s's", problems.Items, codeX99)
	}

	// Publishing corrections needs admin; reconciling does not.
	export := "ma_ho_so,trang_thai\n" + codeH57 + ",2\n"
	for name, want := range map[string]int{"auditor": 403, "admin": 200} {
		req, _ := http.NewRequest("POST", in.HTTPURL+"/api/v1/reconcile?format=csv&publish=true", strings.NewReader(export))
		req.Header.Set("Authorization", "Bearer "+tokens[name])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want && !(want == 200 && resp.StatusCode == 400) {
			t.Errorf("reconcile publish=true as %s = %d %s, want %d", name, resp.StatusCode, b, want)
		}
	}

	// A scoped auditor's reconciliation knows nothing of another agency's
	// dossiers: X99's is "unknown", its status not shown.
	{
		req, _ := http.NewRequest("POST", in.HTTPURL+"/api/v1/reconcile?format=csv&scope=none", strings.NewReader("ma_ho_so,trang_thai\n"+codeX99+",4\n"+codeH57+",4\n"))
		req.Header.Set("Authorization", "Bearer "+tokens["auditor-h57"])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rep struct {
			Groups []struct {
				Kind  string `json:"kind"`
				Items []struct {
					Code string `json:"code"`
				} `json:"items"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(b, &rep); err != nil || resp.StatusCode != 200 {
			t.Fatalf("reconcile as auditor-h57 = %d %s", resp.StatusCode, b)
		}
		kinds := map[string]string{}
		for _, g := range rep.Groups {
			for _, it := range g.Items {
				kinds[it.Code] = g.Kind
			}
		}
		if kinds[codeX99] != "unknown_dossier" || kinds[codeH57] != "status_differs" {
			t.Errorf("reconcile as auditor-h57: kinds %v, want X99's unknown and H57's status_differs\n%s", kinds, b)
		}
	}

	// The dashboard: the login form sets an HttpOnly, SameSite=Strict cookie.
	form := url.Values{"token": {tokens["viewer-h57"]}, "next": {"/overdue"}}
	resp, err := client.PostForm(in.HTTPURL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hoso_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/overdue" || session == nil ||
		!session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login = %d %q, cookie %+v", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	{
		req, _ := http.NewRequest("GET", in.HTTPURL+"/overdue", nil)
		req.AddCookie(session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `action="/logout"`) || !strings.Contains(string(b), "viewer-h57") {
			t.Errorf("the signed-in page has no sign-out form naming the user")
		}
	}
	for path, want := range map[string]int{"/overdue": 200, "/dossiers/" + url.PathEscape(codeX99): 404, "/api/v1/audit/verify": 403} {
		req, _ := http.NewRequest("GET", in.HTTPURL+path, nil)
		req.AddCookie(session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s with the session cookie = %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err = client.PostForm(in.HTTPURL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Value != "" || cs[0].MaxAge >= 0 {
		t.Errorf("logout = %d, cookies %+v; want the session cleared", resp.StatusCode, cs)
	}
	resp, err = client.PostForm(in.HTTPURL+"/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a wrong token = %d, want 401", resp.StatusCode)
	}

	// Ten wrong tokens within a minute from one address, and the next
	// attempt from it is not checked: 429 with Retry-After, logged with
	// the address.
	attacker := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 3, 1)}}).DialContext}}
	for i := range 11 {
		tok, want := "hoso_wrong", http.StatusUnauthorized
		if i == 10 {
			tok, want = tokens["admin"], http.StatusTooManyRequests
		}
		req, _ := http.NewRequest("GET", in.HTTPURL+"/api/v1/dossiers", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := attacker.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "") {
			t.Fatalf("request %d from the address trying tokens = %d, Retry-After %q; want %d", i+1, resp.StatusCode, resp.Header.Get("Retry-After"), want)
		}
	}

	// No token reaches the log; refusals name the client address.
	logs := in.Logs.String()
	for _, want := range []string{"http request refused", "throttled", "127.0.3.1:", "127.0.2."} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q", want)
		}
	}
	for name, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the log holds %s's token", name)
		}
	}
}

// TestOpenModeIsLoopbackOnly: with no access file, an engine refuses an
// address other machines reach unless told InsecureOpen (--insecure-open).
func TestOpenModeIsLoopbackOnly(t *testing.T) {
	open := func(cfg engine.Config) error {
		t.Helper()
		e, err := engine.Open(context.Background(), cfg, nil)
		if err == nil {
			e.Close()
		}
		return err
	}
	cfg := testutil.Config(t.TempDir())
	cfg.HTTPAddr = "0.0.0.0:0"
	if err := open(cfg); err == nil || !strings.Contains(err.Error(), "--insecure-open") {
		t.Fatalf("Open on 0.0.0.0 without Access = %v, want a refusal naming --insecure-open", err)
	}
	cfg = testutil.Config(t.TempDir())
	cfg.TLSCert = "c.pem"
	if err := open(cfg); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("Open with TLSCert only = %v, want a refusal", err)
	}
}

// TestServeTLS serves HTTPS from a certificate and key in files.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := testutil.WriteCert(t, dir, "hoso test")
	path, tokens := writeAccessFile(t)
	cfg := testutil.Config(filepath.Join(dir, "data"))
	cfg.TLSCert, cfg.TLSKey, cfg.Access = certFile, keyFile, path
	in := testutil.Start(t, cfg)
	base := "https://" + strings.TrimPrefix(in.HTTPURL, "http://")

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", base+"/api/v1/definitions", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["viewer"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET over TLS = %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP to the TLS port is refused.
	if resp, err := http.Get(in.HTTPURL + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS port = 200, want a refusal")
		}
	}
	// A login over TLS sets a Secure cookie.
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.PostForm(base+"/login", url.Values{"token": {tokens["viewer"]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("login over TLS cookies = %+v, want one Secure cookie", cs)
	}
}

// TestServeNATSUsers: with NATSUsers (--nats-users) the embedded server
// takes only its users; the engine connects with its own generated
// password and still applies events; a source cannot publish for another.
func TestServeNATSUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nats-users.yaml")
	users := "users:\n  - name: tayninh-dvc\n    password: tayninh-secret-1\n    source: tayninh\n" +
		"  - name: hanoi-dvc\n    password: hanoi-secret-22\n    source: hanoi\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t.TempDir())
	cfg.NATSUsers = path
	in := testutil.Start(t, cfg)
	// emit connects as the user (none for "") with the inboxes of source,
	// as `hoso emit` does, and emits a submit of code for source.
	emit := func(user, pass, source, code string) (workflow.Outcome, error) {
		opts := []nats.Option{nats.CustomInboxPrefix(events.InboxPrefix(source)), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}
		if user != "" {
			opts = append(opts, nats.UserInfo(user, pass))
		}
		nc, err := nats.Connect(in.NATSURL, opts...)
		if err != nil {
			return workflow.Outcome{}, err
		}
		defer nc.Close()
		ev := &workflow.Event{ID: "users-" + code, SourceURI: "/hoso/emit/" + source, Source: source, Dossier: code,
			Action: "submit", Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)}
		o, err := testutil.Emit(nc, ev, 2*time.Second)
		if err == nil && o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			err = fmt.Errorf("%s (%s): %s", o.Kind, o.Reason, o.MessageEN)
		}
		return o, err
	}
	if _, err := emit("tayninh-dvc", "tayninh-secret-1", "tayninh", "000.00.12.H57-251001-0001"); err != nil {
		t.Fatalf("emit as tayninh for tayninh: %v\n%s", err, in.Logs.String())
	}
	if o, err := emit("tayninh-dvc", "tayninh-secret-1", "hanoi", "000.00.12.H57-251001-0002"); err == nil {
		t.Errorf("emit as tayninh for hanoi succeeded: %+v", o)
	}
	if o, err := emit("", "", "tayninh", "000.00.12.H57-251001-0003"); err == nil {
		t.Errorf("emit without a user succeeded: %+v", o)
	}
	var d struct {
		Code string `json:"code"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/000.00.12.H57-251001-0001", 200, &d)
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/000.00.12.H57-251001-0002", 404, nil)
	if strings.Contains(in.Logs.String(), "tayninh-secret-1") {
		t.Error("the log holds a source's password")
	}
}
