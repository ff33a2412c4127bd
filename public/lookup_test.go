package public_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// lookupKeyHex is the lookup key of the lookup fixture.
const lookupKeyHex = "8f3a9c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2"

// lookupNow is the fixture's clock: Wednesday 1 October 2025, 10:00 in
// Vietnam.
var lookupNow = time.Date(2025, 10, 1, 10, 0, 0, 0, workflow.Zone)

// The dossiers of the lookup fixture, and their secrets.
const (
	codeOverdue  = "000.00.12.H57-250915-0001" // in progress, apologized, overdue, a status corrected
	codeWaiting  = "000.00.12.H57-250915-0002" // waiting for a supplement
	codeReturned = "000.00.12.H57-250915-0003" // resolved and returned
	codeNoDigest = "000.00.12.H57-250915-0004" // received without a lookup digest
	codeFeedback = "000.00.12.H57-250916-0005" // feedback, published
	codeUnknown  = "000.00.12.H57-250915-0099" // no dossier
	secretA      = "AB12-CD34"
)

// vn is a time in Vietnam in 2025.
func vn(month, day, hour, minute int) time.Time {
	return time.Date(2025, time.Month(month), day, hour, minute, 0, 0, workflow.Zone)
}

// lookupFix is an engine whose clock is lookupNow, with the lookup key
// and limits wide enough for the tests, holding the dossiers above.
type lookupFix struct {
	in  *testutil.Instance
	key []byte
}

var (
	lookupOnce sync.Once
	lookupF    *lookupFix
)

func lookupFixture(t *testing.T) *lookupFix {
	t.Helper()
	lookupOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoso-lookup-")
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(dir, "lookup.key")
		conf := filepath.Join(dir, "public.yaml")
		if err := os.WriteFile(keyFile, []byte(lookupKeyHex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// The clock stands still: a bucket never refills, so the limits
		// are wide.
		if err := os.WriteFile(conf, []byte("lookup:\n  per_address: {burst: 10000, every: 1ms}\n  per_code: {burst: 10000, every: 1ms}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := testutil.Config(filepath.Join(dir, "data"))
		cfg.PublicAddr, cfg.PublicConfig, cfg.PublicLookupKey = "127.0.0.1:0", conf, keyFile
		cfg.Now = func() time.Time { return lookupNow }
		in := testutil.Start(&testing.T{}, cfg)
		key, err := workflow.ParseLookupKey([]byte(lookupKeyHex))
		if err != nil {
			t.Fatal(err)
		}
		f := &lookupFix{in: in, key: key}
		f.emit(t)
		lookupF = f
	})
	if lookupF == nil {
		t.Fatal("lookup fixture did not start")
	}
	return lookupF
}

// emit sends the fixture's dossiers, each event with what its guards ask.
func (f *lookupFix) emit(t *testing.T) {
	nc, _ := testutil.Connect(t, f.in.NATSURL)
	n := 0
	ev := func(code, procedure, action string, at time.Time, set func(e *workflow.Event)) {
		n++
		e := &workflow.Event{ID: fmt.Sprintf("lookup-%d", n), SourceURI: "/motcua/tayninh", Source: "tayninh", Dossier: code,
			Action: action, Procedure: procedure, Agency: "000.00.12.H57", Actor: "canbo-0042", Time: at, Entered: at}
		if set != nil {
			set(e)
		}
		o, err := testutil.Emit(nc, e, 10*time.Second)
		if err != nil {
			t.Fatalf("emit %s %s: %v", code, action, err)
		}
		if o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
			t.Fatalf("emit %s %s = %s (%s) %s", code, action, o.Kind, o.Reason, o.MessageEN)
		}
	}
	receive := func(code string, at time.Time, dueDay time.Time, withDigest bool) {
		ev(code, "1.004227", "receive", at, func(e *workflow.Event) {
			e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}
			e.Due, e.DueDay, e.Department = dueDay, true, "Bộ phận một cửa"
			if withDigest {
				e.Lookup = workflow.LookupDigest(f.key, code, secretA)
			}
		})
	}
	dept := func(d string) func(e *workflow.Event) { return func(e *workflow.Event) { e.Department = d } }
	// A: received Monday 15/9 due Friday 19/9; an apology on 18/9 moves
	// it to Wednesday 24/9; the one-stop-shop claims status 5 on the
	// last handoff, which is a 4.
	receive(codeOverdue, vn(9, 15, 9, 0), vn(9, 19, 0, 0), true)
	ev(codeOverdue, "1.004227", "assign", vn(9, 15, 14, 0), dept("Phòng Tư pháp"))
	ev(codeOverdue, "1.004227", "transfer", vn(9, 16, 10, 0), dept("Phòng Kinh tế"))
	ev(codeOverdue, "1.004227", "apologize", vn(9, 18, 9, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentApologyLetter}}
		e.NewDue, e.NewDueDay, e.Reason = vn(9, 24, 0, 0), true, "chờ ý kiến của sở"
	})
	ev(codeOverdue, "1.004227", "transfer", vn(9, 19, 8, 0), func(e *workflow.Event) {
		e.Department, e.ClaimedStatus = "Phòng Tư pháp", workflow.StatusSupplement
	})
	// B: a supplement requested on Wednesday 17/9.
	receive(codeWaiting, vn(9, 15, 9, 30), vn(9, 26, 0, 0), true)
	ev(codeWaiting, "1.004227", "assign", vn(9, 15, 10, 0), dept("Phòng Tư pháp"))
	ev(codeWaiting, "1.004227", "request_supplement", vn(9, 17, 15, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentSupplementRequest}}
		e.Reason = "Thiếu bản sao giấy khai sinh"
	})
	// C: resolved Thursday 18/9, returned Friday 19/9.
	receive(codeReturned, vn(9, 15, 10, 0), vn(9, 22, 0, 0), true)
	ev(codeReturned, "1.004227", "assign", vn(9, 15, 11, 0), dept("Phòng Tư pháp"))
	ev(codeReturned, "1.004227", "resolve", vn(9, 18, 16, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentResultElectronic}}
	})
	ev(codeReturned, "1.004227", "return", vn(9, 19, 8, 30), nil)
	// D: no digest.
	receive(codeNoDigest, vn(9, 15, 11, 0), vn(9, 22, 0, 0), false)
	// F: feedback, received, assigned, answered and published.
	ev(codeFeedback, "PAKN", "receive", vn(9, 16, 8, 0), func(e *workflow.Event) {
		e.Lookup = workflow.LookupDigest(f.key, codeFeedback, secretA)
	})
	ev(codeFeedback, "PAKN", "assign", vn(9, 16, 9, 0), dept("Phòng Kiểm soát thủ tục hành chính"))
	ev(codeFeedback, "PAKN", "answer", vn(9, 22, 15, 0), func(e *workflow.Event) {
		e.Attachments = []workflow.Attachment{{Kind: "answer_document"}}
	})
	ev(codeFeedback, "PAKN", "publish", vn(9, 23, 9, 0), nil)
}

// postLookup posts a lookup to the JSON API and returns the answer.
func postLookup(t *testing.T, base, code, secret string) (*http.Response, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code, "secret": secret})
	return post(t, client, base+"/api/public/v1/lookup", "application/json", body)
}

func post(t *testing.T, c *http.Client, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// answer is the JSON answer as a test reads it.
type answer struct {
	Code   string `json:"code"`
	Kind   string `json:"kind"`
	Status struct {
		Code   int    `json:"code"`
		NameVI string `json:"name_vi"`
		NameEN string `json:"name_en"`
	} `json:"status"`
	Corrected bool `json:"corrected"`
	Procedure struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"procedure"`
	ReceivedAt         *time.Time `json:"received_at"`
	Due                *time.Time `json:"due"`
	OriginalDue        *time.Time `json:"original_due"`
	Overdue            bool       `json:"overdue"`
	OverdueWorkingDays int        `json:"overdue_working_days"`
	Awaiting           *struct {
		What   string    `json:"what"`
		Since  time.Time `json:"since"`
		Reason string    `json:"reason"`
	} `json:"awaiting"`
	Departments []struct {
		Department string    `json:"department"`
		At         time.Time `json:"at"`
	} `json:"departments"`
	Apologies []struct {
		At     time.Time `json:"at"`
		NewDue time.Time `json:"new_due"`
	} `json:"apologies"`
	ResolvedAt *time.Time `json:"resolved_at"`
	ReturnedAt *time.Time `json:"returned_at"`
	Feedback   *struct {
		Received, Assigned, Answered, Published *time.Time
	} `json:"feedback"`
	AsOf time.Time `json:"as_of"`
}

// lookupOK looks a dossier up and decodes its answer strictly.
func lookupOK(t *testing.T, base, code, secret string) answer {
	t.Helper()
	resp, body := postLookup(t, base, code, secret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lookup %s = %d %s, want 200", code, resp.StatusCode, body)
	}
	var a answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("lookup %s: %v\n%s", code, err, body)
	}
	return a
}

// TestLookupOverdue looks up a dossier in progress whose apology moved
// its due date, now past: every figure of the answer worked out by hand.
func TestLookupOverdue(t *testing.T) {
	f := lookupFixture(t)
	// The secret as a citizen may type it: lower case, spaces.
	a := lookupOK(t, f.in.PublicURL, " "+codeOverdue+" ", "ab12 cd34")
	eq := func(what string, got, want any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	eq("code", a.Code, codeOverdue)
	eq("kind", a.Kind, "dossier")
	eq("status", []any{a.Status.Code, a.Status.NameVI, a.Status.NameEN}, []any{4, "Đang xử lý", "In progress"})
	eq("corrected", a.Corrected, true)
	eq("procedure", a.Procedure.Code, "1.004227")
	eq("received", a.ReceivedAt.Equal(vn(9, 15, 9, 0)), true)
	// A date-only due date is the end of its working day, 17:00.
	eq("due", a.Due.Equal(vn(9, 24, 17, 0)), true)
	eq("original due", a.OriginalDue.Equal(vn(9, 19, 17, 0)), true)
	// Due Wednesday 24/9; now Wednesday 1/10: Thu 25, Fri 26, Mon 29,
	// Tue 30 September and Wed 1 October are the working days after it.
	eq("overdue", a.Overdue, true)
	eq("overdue working days", a.OverdueWorkingDays, 5)
	eq("awaiting", a.Awaiting == nil, true)
	var depts []string
	for _, d := range a.Departments {
		depts = append(depts, d.Department+" "+d.At.In(workflow.Zone).Format("02/01 15:04"))
	}
	eq("departments", depts, []string{"Bộ phận một cửa 15/09 09:00", "Phòng Tư pháp 15/09 14:00", "Phòng Kinh tế 16/09 10:00", "Phòng Tư pháp 19/09 08:00"})
	eq("apologies", len(a.Apologies), 1)
	if len(a.Apologies) == 1 {
		eq("apology", []bool{a.Apologies[0].At.Equal(vn(9, 18, 9, 0)), a.Apologies[0].NewDue.Equal(vn(9, 24, 17, 0))}, []bool{true, true})
	}
	eq("resolved", a.ResolvedAt == nil && a.ReturnedAt == nil, true)
	eq("feedback", a.Feedback == nil, true)
	eq("as of", a.AsOf.Equal(lookupNow), true)
}

// TestLookupWaitingAndReturned looks up a dossier waiting for a
// supplement (not overdue: its clock is stopped, though its date has
// passed) and one returned.
func TestLookupWaitingAndReturned(t *testing.T) {
	f := lookupFixture(t)
	a := lookupOK(t, f.in.PublicURL, codeWaiting, secretA)
	if a.Status.Code != 5 || a.Awaiting == nil || a.Awaiting.What != "supplement" || !a.Awaiting.Since.Equal(vn(9, 17, 15, 0)) ||
		a.Awaiting.Reason != "Thiếu bản sao giấy khai sinh" {
		t.Errorf("lookup %s: status %d, awaiting %+v; want 5, a supplement since 17/09 15:00 for the birth certificate", codeWaiting, a.Status.Code, a.Awaiting)
	}
	if a.Overdue || a.OverdueWorkingDays != 0 || a.Corrected {
		t.Errorf("lookup %s: overdue %t (%d days), corrected %t; want not overdue (the clock stopped), not corrected", codeWaiting, a.Overdue, a.OverdueWorkingDays, a.Corrected)
	}
	r := lookupOK(t, f.in.PublicURL, codeReturned, secretA)
	if r.Status.Code != 10 || r.Status.NameVI != "Đã trả kết quả" || r.ResolvedAt == nil || !r.ResolvedAt.Equal(vn(9, 18, 16, 0)) ||
		r.ReturnedAt == nil || !r.ReturnedAt.Equal(vn(9, 19, 8, 30)) || r.Overdue || r.Awaiting != nil {
		t.Errorf("lookup %s = %+v; want status 10, resolved 18/09 16:00, returned 19/09 08:30", codeReturned, r)
	}
}

// TestLookupFeedback looks up a feedback dossier: its steps with their
// dates, the procedure's name.
func TestLookupFeedback(t *testing.T) {
	f := lookupFixture(t)
	a := lookupOK(t, f.in.PublicURL, codeFeedback, secretA)
	if a.Kind != "feedback" || a.Feedback == nil || a.Procedure.Name != "Phản ánh, kiến nghị về quy định hành chính" || a.Status.Code != 10 {
		t.Fatalf("lookup %s = %+v; want a published feedback of PAKN", codeFeedback, a)
	}
	fb := a.Feedback
	for _, s := range []struct {
		name string
		got  *time.Time
		want time.Time
	}{{"received", fb.Received, vn(9, 16, 8, 0)}, {"assigned", fb.Assigned, vn(9, 16, 9, 0)},
		{"answered", fb.Answered, vn(9, 22, 15, 0)}, {"published", fb.Published, vn(9, 23, 9, 0)}} {
		if s.got == nil || !s.got.Equal(s.want) {
			t.Errorf("lookup %s: %s %v, want %v", codeFeedback, s.name, s.got, s.want)
		}
	}
}

// comparable is an answer without what differs between any two
// requests: the request id and the date.
func comparable(resp *http.Response, body []byte) string {
	h := resp.Header.Clone()
	h.Del("X-Request-Id")
	h.Del("Date")
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode)
	_ = h.Write(&b)
	b.Write(body)
	return b.String()
}

// TestLookupSameAnswer checks that a wrong secret, an unknown code and a
// dossier received without a digest get one answer: status, headers and
// body, from the JSON API and from the page (whose form repeats the code
// typed, replaced here).
func TestLookupSameAnswer(t *testing.T) {
	f := lookupFixture(t)
	var jsons, pages []string
	for _, c := range []struct{ code, secret string }{
		{codeOverdue, "WRONG-1234"}, {codeUnknown, secretA}, {codeNoDigest, secretA}, {codeFeedback, "AB12-CD35"},
	} {
		resp, body := postLookup(t, f.in.PublicURL, c.code, c.secret)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("lookup %s with %s = %d %s, want 404", c.code, c.secret, resp.StatusCode, body)
		}
		jsons = append(jsons, comparable(resp, body))
		resp, body = post(t, client, f.in.PublicURL+"/lookup", "application/x-www-form-urlencoded",
			[]byte(url.Values{"code": {c.code}, "secret": {c.secret}}.Encode()))
		if bytes.Contains(body, []byte(c.secret)) {
			t.Errorf("the page for %s repeats the secret", c.code)
		}
		pages = append(pages, strings.ReplaceAll(comparable(resp, body), c.code, "CODE"))
	}
	for i := 1; i < len(jsons); i++ {
		if jsons[i] != jsons[0] {
			t.Errorf("JSON answers differ:\n%s\n---\n%s", jsons[0], jsons[i])
		}
		if pages[i] != pages[0] {
			t.Errorf("page answers differ:\n%s\n---\n%s", pages[0], pages[i])
		}
	}
	if !strings.Contains(jsons[0], `"code":"lookup_not_found"`) || strings.Contains(jsons[0], "request_id") {
		t.Errorf("not-found JSON = %s", jsons[0])
	}
	if !strings.Contains(pages[0], `role="alert"`) || !strings.Contains(pages[0], "Không tìm thấy hồ sơ") {
		t.Errorf("not-found page has no alert: %.2000s", pages[0])
	}
}

// TestLookupRequests checks the strict reading of a lookup request, each
// refusal with its status and code; none reads the store.
func TestLookupRequests(t *testing.T) {
	f := lookupFixture(t)
	api := f.in.PublicURL + "/api/public/v1/lookup"
	big := `{"code":"` + codeOverdue + `","secret":"` + strings.Repeat("A", 1100) + `"}`
	for _, c := range []struct {
		name, url, ctype, body string
		status                 int
		code                   string
	}{
		{"no content type", api, "", `{"code":"` + codeOverdue + `","secret":"` + secretA + `"}`, 415, "bad_content_type"},
		{"form to the API", api, "application/x-www-form-urlencoded", "code=" + codeOverdue + "&secret=" + secretA, 415, "bad_content_type"},
		{"other charset", api, "application/json; charset=latin1", `{"code":"` + codeOverdue + `","secret":"` + secretA + `"}`, 415, "bad_content_type"},
		{"unknown field", api, "application/json", `{"code":"` + codeOverdue + `","secret":"` + secretA + `","name":"x"}`, 400, "bad_body"},
		{"no secret", api, "application/json", `{"code":"` + codeOverdue + `"}`, 400, "bad_body"},
		{"secret a number", api, "application/json", `{"code":"` + codeOverdue + `","secret":1234}`, 400, "bad_body"},
		{"two objects", api, "application/json", `{"code":"` + codeOverdue + `","secret":"` + secretA + `"}{}`, 400, "bad_body"},
		// A key given twice would be read as its last value by some
		// parsers and its first by others: refused.
		{"secret twice", api, "application/json", `{"code":"` + codeOverdue + `","secret":"WRONG-1234","secret":"` + secretA + `"}`, 400, "bad_body"},
		{"code twice", api, "application/json", `{"code":"X","code":"` + codeOverdue + `","secret":"` + secretA + `"}`, 400, "bad_body"},
		{"not JSON", api, "application/json", `code=1`, 400, "bad_body"},
		{"too large", api, "application/json", big, 413, "body_too_large"},
		{"bad code", api, "application/json", `{"code":"000 00/12","secret":"` + secretA + `"}`, 400, "bad_parameter"},
		{"short secret", api, "application/json", `{"code":"` + codeOverdue + `","secret":"a-b c"}`, 400, "bad_parameter"},
		{"secret with diacritics", api, "application/json", `{"code":"` + codeOverdue + `","secret":"mật khẩu"}`, 400, "bad_parameter"},
		{"query on the API", api + "?secret=x", "application/json", `{"code":"` + codeOverdue + `","secret":"` + secretA + `"}`, 400, "bad_parameter"},
	} {
		resp, body := post(t, client, c.url, c.ctype, []byte(c.body))
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
	// The form: each field once, nothing else.
	for _, body := range []string{"code=" + codeOverdue, "code=" + codeOverdue + "&secret=" + secretA + "&secret=x", "code=" + codeOverdue + "&secret=" + secretA + "&x=1", "code=%zz&secret=x"} {
		resp, _ := post(t, client, f.in.PublicURL+"/lookup", "application/x-www-form-urlencoded", []byte(body))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("form %q = %d, want 400", body, resp.StatusCode)
		}
	}
	// GET of the API and a secret in the page's URL.
	resp, _ := get(t, api)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET %s = %d Allow %q, want 405 Allow POST", api, resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = get(t, f.in.PublicURL+"/lookup?code="+codeOverdue+"&secret="+secretA)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /lookup with the secret in the URL = %d, want 400", resp.StatusCode)
	}
	// Other routes still take GET and HEAD only.
	resp, _ = post(t, client, f.in.PublicURL+"/scoreboard", "application/x-www-form-urlencoded", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /scoreboard = %d Allow %q, want 405 GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestLookupPage posts the form and reads the answer's page, in
// Vietnamese and in English.
func TestLookupPage(t *testing.T) {
	f := lookupFixture(t)
	resp, body := get(t, f.in.PublicURL+"/lookup")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="secret"`) || !strings.Contains(body, `autocomplete="off"`) ||
		!strings.Contains(body, `method="post"`) || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("GET /lookup = %d %.500s", resp.StatusCode, body)
	}
	form := []byte(url.Values{"code": {codeOverdue}, "secret": {secretA}}.Encode())
	resp, page := post(t, client, f.in.PublicURL+"/lookup", "application/x-www-form-urlencoded", form)
	for _, want := range []string{"Đang xử lý", "24/09/2025", "hẹn ban đầu: 19/09/2025", "Quá hạn 5 ngày làm việc", "Phòng Kinh tế", "hẹn lại ngày 24/09/2025"} {
		if resp.StatusCode != 200 || !bytes.Contains(page, []byte(want)) {
			t.Errorf("POST /lookup = %d; the page lacks %q", resp.StatusCode, want)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" || bytes.Contains(page, []byte(secretA)) || bytes.Contains(page, []byte("canbo-0042")) {
		t.Errorf("POST /lookup: Cache-Control %q; the page must not be stored nor hold the secret or the officer", resp.Header.Get("Cache-Control"))
	}
	resp, page = post(t, client, f.in.PublicURL+"/lookup?lang=en", "application/x-www-form-urlencoded", form)
	for _, want := range []string{"In progress", "Overdue 5 working days", "first appointment: 19/09/2025"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("POST /lookup?lang=en: the page lacks %q", want)
		}
	}
}
