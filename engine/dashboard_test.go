package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// chromiumPath finds Debian's Chromium. The browser tests fail without
// it: CI installs it (.ci/run), and a skipped browser test would hide a
// broken dashboard.
func chromiumPath(t testing.TB) string {
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

// browser starts a headless Chromium with a fresh profile. The flags keep
// it off the network: this machine refuses its background connections.
func browser(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// artifacts returns where the browser tests save screenshots:
// $HOSO_ARTIFACTS when set, else a temporary directory of the test.
func artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HOSO_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a full-page PNG of the current page.
func screenshot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// getPage GETs a path and returns the status and body.
func getPage(t testing.TB, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitScenario waits until every dossier of the scenario has its whole
// history and the deadline scheduler has flagged an overdue one.
func waitScenario(t testing.TB, in *testutil.Instance, sc *testutil.Scenario) {
	t.Helper()
	for code, n := range sc.History {
		waitFor(t, "history of "+code, 30*time.Second, func() bool {
			resp, err := http.Get(in.HTTPURL + "/api/v1/dossiers/" + code)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var d struct {
				Entries int `json:"history_length"`
			}
			return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&d) == nil && d.Entries == n
		})
	}
	waitFor(t, "overdue dossiers listed", 30*time.Second, func() bool {
		_, body := getPage(t, in.HTTPURL, "/overdue")
		return strings.Contains(body, `class="dossier-link"`)
	})
}

// TestDashboardBrowser drives the dashboard of a real `hoso serve` (NATS,
// bbolt, the deadline scheduler) fed by the scenario generator, in
// headless Chromium: the overview, an overdue dossier opened from the
// overdue list and its control sheet checked against the API, the
// language switch, and a rejection published after the feed page loaded
// appearing on it live.
func TestDashboardBrowser(t *testing.T) {
	cfg := testutil.Config(t.TempDir())
	cfg.Deadlines = 200 * time.Millisecond
	in := testutil.Start(t, cfg)
	_, js := testutil.Connect(t, in.NATSURL)
	sc := testutil.NewScenario(60, 1)
	testutil.Publish(t, js, sc.Messages)
	// The scenario is dated in 2025: the scheduler expires every dossier
	// still in progress, which fills the overdue list.
	waitScenario(t, in, sc)
	dir := artifacts(t)
	ctx := browser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The overview, in Vietnamese by default.
	do("overview", chromedp.Navigate(in.HTTPURL+"/"), chromedp.WaitVisible(css("#cards")))
	headline := text("#headline")
	lang, err := chromedp.Run(ctx, chromedp.AttributeValue(css("html"), "lang"))
	if err != nil || lang.Value != "vi" || !strings.Contains(headline, "Tiếp nhận") || !strings.Contains(headline, "Quá hạn") {
		t.Errorf("overview: lang %+v (%v), headline %q; want Vietnamese with received and late counts", lang, err, headline)
	}
	online, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#cards .card")).
		filter(c => c.querySelector(".l").textContent.trim() == "Nộp trực tuyến (trên số tiếp nhận)").map(c => c.querySelector(".n").textContent.trim()).join("|")`))
	if v, perr := strconv.ParseFloat(strings.TrimSuffix(strings.ReplaceAll(online, ",", "."), "%"), 64); err != nil || perr != nil || v <= 0 || v > 100 {
		t.Errorf("overview: online card %q (%v), want one share above 0%% (the simulated province submits most dossiers online)", online, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg").length`))
	if err != nil || charts < 3 {
		t.Errorf("overview draws %d charts (%v), want at least 3", charts, err)
	}
	screenshot(t, ctx, dir, "overview.png")

	// The overdue list, then its first dossier.
	do("overdue list", chromedp.Click(css(`header nav a[href="/overdue"]`)), chromedp.WaitVisible(css("#deadline-list")))
	code := text("#deadline-list tbody tr:first-child a.dossier-link")
	screenshot(t, ctx, dir, "overdue.png")
	do("dossier page", chromedp.Click(css("#deadline-list tbody tr:first-child a.dossier-link")),
		chromedp.WaitVisible(css("#control-sheet")))
	badge := text("#verify-badge")
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("#control-sheet tbody tr")).map(
		tr => Array.from(tr.cells).map(td => td.textContent.trim()))`))
	if err != nil {
		t.Fatalf("control sheet of %s: %v", code, err)
	}
	var doc struct {
		Overdue bool `json:"overdue"`
		History []struct {
			Actor      string                `json:"actor"`
			Department string                `json:"department"`
			Action     string                `json:"action"`
			ToStatus   struct{ Code int }    `json:"to_status"`
			Timing     workflow.Timing       `json:"timing"`
			Attach     []workflow.Attachment `json:"attachments"`
		} `json:"history"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, 200, &doc)
	if !doc.Overdue {
		t.Errorf("%s is listed as overdue but the API says it is not", code)
	}
	if !strings.Contains(badge, "Chuỗi băm hợp lệ") {
		t.Errorf("chain badge %q, want the verified one", badge)
	}
	if len(cells) != len(doc.History) {
		t.Fatalf("control sheet of %s has %d rows, the API %d entries", code, len(cells), len(doc.History))
	}
	for i, h := range doc.History {
		row := cells[i]
		dept := h.Department
		if dept == "" {
			dept = "—"
		}
		timing := map[workflow.Timing]string{"": "—", "early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}[h.Timing]
		if row[0] != fmt.Sprint(i+1) || row[2] != h.Actor || row[3] != dept || !strings.HasPrefix(row[4], h.Action) ||
			!strings.HasSuffix(row[5], fmt.Sprintf("→ %d %s", h.ToStatus.Code, workflow.Status(h.ToStatus.Code).NameVI())) ||
			row[7] != timing {
			t.Errorf("control sheet row %d = %q; want #%d, actor %s, department %s, action %s, to status %d, timing %s",
				i, row, i+1, h.Actor, dept, h.Action, h.ToStatus.Code, timing)
		}
		for _, a := range h.Attach {
			if !strings.Contains(row[8], a.Kind) {
				t.Errorf("control sheet row %d attachments %q lack %s", i, row[8], a.Kind)
			}
		}
	}
	screenshot(t, ctx, dir, "dossier.png")

	// The language switch, remembered on the next page.
	do("switch to English", chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`html[lang="en"] h1`)))
	if title := text("h1"); title != "Control sheet of the dossier's handling" {
		t.Errorf("after switching to English the title is %q", title)
	}
	screenshot(t, ctx, dir, "dossier-en.png")

	// The live feed, in English from the cookie: a rejection published
	// once the page is connected appears at the top.
	do("feed page", chromedp.Click(css(`header nav a[href="/feed"]`)), chromedp.WaitVisible(css(`html[lang="en"] #feed-state.on`)))
	bad := "000.00.12.H57-251231-9999"
	ev := &workflow.Event{ID: "live-bad-1", SourceURI: "/motcua/tayninh", Source: "tayninh", Action: "resolve",
		Dossier: bad, Time: time.Now(), Procedure: "1.004227", Agency: "H57", Actor: "cb-live"}
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Publish(t, js, []testutil.Message{{Subject: events.Subject("tayninh", bad), Data: data, MsgID: ev.ID}})
	do("live rejection", chromedp.WaitVisible(css(`#feed-rows tr.fresh`)))
	if first := text("#feed-rows tr:first-child"); !strings.Contains(first, bad) || !strings.Contains(first, "invalid_transition") ||
		!strings.Contains(first, "Invalid transition") {
		t.Errorf("first feed row %q, want the live rejection of %s in English", first, bad)
	}
	screenshot(t, ctx, dir, "feed.png")
}
