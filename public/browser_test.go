package public_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("accept-lang", "vi-VN,vi"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 844))
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer func() { cancelTimeout(); cancelCtx(); cancelAlloc() }()
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, "console "+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, string(e.Entry.Source)+": "+e.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
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
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the console reported: %q", problems)
	}
}
