package public_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// chromiumPath finds Debian's Chromium; the browser test fails without
// it, as the dashboard's does.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("Chromium not found: install it (apt-get install chromium), as .ci/run does")
	return ""
}

// TestPhoneBrowser opens each public page in headless Chromium at a
// phone's size (390×844): the page renders in Vietnamese with its table
// and chart, nothing is wider than the screen but the table's own
// scrolling region, the language switch gives the English page, and the
// console reports no error (a CSP violation included). The browser asks
// for Vietnamese (Accept-Language), as a phone in Vietnam does.
func TestPhoneBrowser(t *testing.T) {
	s := simulated(t)
	ctx, problems := phone(t)
	eval := func(what, expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	for _, tc := range []struct{ path, table, chart string }{
		{"/scoreboard", "table#board th[scope=col]", "svg.chart-svg[role=img][aria-describedby]"},
		{"/scoreboard?by=month", "table#board caption", "svg.chart-svg polyline"},
		{"/scoreboard?by=procedure&kind=feedback", "table#board", "figure.chart"},
		{"/scoreboard/embed", "table.figures th[scope=row]", "svg.chart-svg"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.in.PublicURL+tc.path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if lang := eval(tc.path, `document.documentElement.lang`); lang != "vi" {
			t.Errorf("%s: lang %v, want vi", tc.path, lang)
		}
		if n := eval(tc.path, `document.querySelectorAll("`+tc.table+`").length`); n == 0.0 {
			t.Errorf("%s: no %s", tc.path, tc.table)
		}
		if n := eval(tc.path, `document.querySelectorAll("`+tc.chart+`").length`); n == 0.0 {
			t.Errorf("%s: no %s", tc.path, tc.chart)
		}
		if wide := eval(tc.path, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide != false {
			t.Errorf("%s: the page is wider than a phone's screen", tc.path)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] h1`))); err != nil {
			t.Errorf("%s: the language switch: %v", tc.path, err)
		}
		if title := eval(tc.path, `document.title`); !strings.Contains(strings.ToLower(title.(string)), "results") {
			t.Errorf("%s: English title %q", tc.path, title)
		}
	}
	problems.mu.Lock()
	defer problems.mu.Unlock()
	if len(problems.list) > 0 {
		t.Errorf("the console reported: %q", problems.list)
	}
}

// cleanReturned finds a simulated dossier whose stream is the plain flow
// [submit] receive assign transfer* resolve return, each event once and
// in time order, with a due date at receipt and neither a pause nor an
// apology: its true status is 10 and its due date the receipt's. It
// returns the code and the due date as a page writes it.
func cleanReturned(t *testing.T, s *sim) (code, due string) {
	t.Helper()
	by, order, truth := simDossiers(t, s)
	flow := regexp.MustCompile(`^(submit )?receive assign (transfer )*resolve return $`)
	for _, c := range order {
		d := by[c]
		var actions strings.Builder
		var recv *workflow.Event
		ok := true
		for i, e := range d.events {
			actions.WriteString(e.Action + " ")
			if e.Action == "receive" {
				recv = e
			}
			if i > 0 && !e.Time.After(d.events[i-1].Time) {
				ok = false
			}
		}
		if _, has := truth.Lookups[c]; ok && has && recv != nil && !recv.Due.IsZero() && flow.MatchString(actions.String()) {
			return c, recv.Due.In(workflow.Zone).Format("02/01/2006")
		}
	}
	t.Fatal("the simulated stream has no dossier of the plain flow")
	return "", ""
}

// TestPhoneLookup is a citizen on a phone (390×844) looking up their
// simulated dossier: the page in Vietnamese, the code and the secret
// typed (the secret in lower case with a space, as people type), the
// true status and due date shown; then a wrong secret shows the
// not-found message as an alert; the English switch gives the English
// form. Nothing is wider than the screen and the console stays quiet.
func TestPhoneLookup(t *testing.T) {
	s := simulated(t)
	code, due := cleanReturned(t, s)
	secret := strings.ToLower(strings.Replace(simulate.LookupSecret(5, code), "-", " ", 1))
	ctx, problems := phone(t)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	narrow := func(what string) {
		t.Helper()
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || wide {
			t.Errorf("%s: the page is wider than a phone's screen (%v)", what, err)
		}
	}
	// The scoreboard's menu leads to the form.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.in.PublicURL+"/scoreboard"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/lookup"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/lookup"]`)), chromedp.WaitVisible(chromedp.CSS("#l-code"))); err != nil {
		t.Fatalf("open the lookup from the menu: %v", err)
	}
	if h := text("h1"); h != "Tra cứu tình trạng hồ sơ" {
		t.Errorf("lookup page h1 %q", h)
	}
	narrow("the form")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#l-code"), code), chromedp.SendKeys(chromedp.CSS("#l-secret"), secret),
		chromedp.Click(chromedp.CSS(`form.lookup button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#l-status"))); err != nil {
		t.Fatalf("look up %s: %v", code, err)
	}
	if st := text("#l-status"); !strings.Contains(st, "Đã trả kết quả") || !strings.Contains(st, "10") {
		t.Errorf("lookup %s: status %q, want Đã trả kết quả (10)", code, st)
	}
	if d := text("#l-due"); !strings.Contains(d, due) {
		t.Errorf("lookup %s: due %q, want %s", code, d, due)
	}
	if u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); err != nil || strings.Contains(strings.ToUpper(u), strings.ToUpper(strings.ReplaceAll(secret, " ", ""))) || strings.Contains(u, "secret") {
		t.Errorf("the address after the lookup is %q: it must not hold the secret", u)
	}
	narrow("the answer")
	// A wrong secret.
	wrong := "ZZZZZ-ZZZZZ"
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#l-code"), code), chromedp.SendKeys(chromedp.CSS("#l-secret"), wrong),
		chromedp.Click(chromedp.CSS(`form.lookup button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#lookup-error[role=alert]`))); err != nil {
		t.Fatalf("look up with a wrong secret: %v", err)
	}
	if e := text("#lookup-error"); !strings.Contains(e, "Không tìm thấy hồ sơ") {
		t.Errorf("wrong secret: %q", e)
	}
	// The not-found answer is a 404, which the console reports: that one
	// report is expected.
	problems.mu.Lock()
	if i := slices.Index(problems.list, "network: Failed to load resource: the server responded with a status of 404 (Not Found)"); i >= 0 {
		problems.list = slices.Delete(problems.list, i, i+1)
	} else {
		t.Errorf("the not-found answer was not a 404: the console reported %q", problems.list)
	}
	problems.mu.Unlock()
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#l-code").value + "|" + document.querySelector("#l-secret").value`)); err != nil || v != code+"|" {
		t.Errorf("after a wrong secret the form holds %q, want the code and no secret", v)
	}
	// English.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #l-code`))); err != nil {
		t.Fatalf("the language switch: %v", err)
	}
	if h, l := text("h1"), text(`label[for="l-secret"]`); h != "Look up your dossier" || l != "Lookup secret" {
		t.Errorf("English form: h1 %q, label %q", h, l)
	}
	problems.mu.Lock()
	defer problems.mu.Unlock()
	if len(problems.list) > 0 {
		t.Errorf("the console reported: %q", problems.list)
	}
}

// consoleProblems are the errors and warnings a browser page reported.
type consoleProblems struct {
	mu   sync.Mutex
	list []string
}

// phone starts a headless Chromium as a phone (390×844, mobile, asking
// for Vietnamese) for the test, and collects what its pages report to the
// console: errors and warnings, exceptions, failed loads and CSP
// violations.
func phone(t *testing.T) (context.Context, *consoleProblems) {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("accept-lang", "vi-VN,vi"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 844))
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	problems := &consoleProblems{}
	err := chromedp.Listen(ctx, func(ev any) {
		problems.mu.Lock()
		defer problems.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems.list = append(problems.list, "console "+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems.list = append(problems.list, "exception "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				problems.list = append(problems.list, string(e.Entry.Source)+": "+e.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	return ctx, problems
}
