package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// The agencies of the fixture and their dossiers: one overdue dossier of
// agencyHai, two of agencyXay, so that a count of either is told apart.
const (
	agencyHai = "UB-HAI"
	agencyXay = "UB-XAY"
	codeHai   = "DS-HAI-0001"
	codeXay1  = "DS-XAY-0001"
	codeXay2  = "DS-XAY-0002"
)

// attackerCell is a value a source controls (department, actor) that a
// spreadsheet would run as a formula.
const attackerCell = "-1*cmd|' /C calc'!A0"

// fixtureStart is when the fixture's dossiers are received: Wednesday
// 1 October 2025.
var fixtureStart = time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)

// fixtureEntered is how long after its time each dossier's assignment
// was entered: from Wednesday to Monday at the same time, 24 working
// hours (Wednesday 5 h 59 min from 09:01, Thursday and Friday 8 h each,
// Monday 2 h 01 min to 09:01).
const fixtureEntered = 5 * 24 * time.Hour

// fixtureActor is the officer the assignments name: a value a
// spreadsheet would run as a formula.
const fixtureActor = "=HYPERLINK(\"http://evil.example\")"

// fixture is a Server over a real store holding, for each agency, overdue
// dossiers in progress, a rejected event and a status mismatch, served
// over HTTP by httptest.
type fixture struct {
	t      *testing.T
	db     *store.DB
	feed   *Feed
	srv    *httptest.Server
	tokens map[string]string // user name → token
	seq    uint64
}

// fixtureUsers are the users of a fixture with access control: name,
// role, agencies.
var fixtureUsers = [][3]string{
	{"admin", "admin", ""},
	{"auditor-hai", "auditor", agencyHai},
	{"viewer-hai", "viewer", agencyHai},
}

// newFixture starts a fixture; withAccess configures fixtureUsers, else
// the server runs in open mode.
func newFixture(t *testing.T, withAccess bool) *fixture {
	t.Helper()
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "hoso.db"), store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, feed: NewFeed(16), tokens: map[string]string{}}
	due := fixtureStart.AddDate(0, 0, 10)
	for i, code := range []string{codeHai, codeXay1, codeXay2} {
		ag := agencyHai
		if code != codeHai {
			ag = agencyXay
		}
		at := fixtureStart.Add(time.Duration(i) * time.Minute)
		f.apply(
			f.event(code+"/1", "receive", code, ag, at, func(e *workflow.Event) {
				e.Due, e.Attachments = due, []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
			}),
			// The status the sender claims (2) is not the one assign leads
			// to (4): a mismatch recorded for the agency. The one-stop-shop
			// entered it on Monday 6 October, 24 working hours after its
			// time (fixtureEntered): a late entry.
			f.event(code+"/2", "assign", code, ag, at.Add(time.Minute), func(e *workflow.Event) {
				e.Department, e.Actor, e.ClaimedStatus = attackerCell, fixtureActor, workflow.StatusReceived
				e.Entered = at.Add(time.Minute).Add(fixtureEntered)
			}),
			&workflow.Event{ID: code + "/expired", Source: workflow.SystemSource, Action: workflow.DeadlineExpired,
				Dossier: code, Time: due.Add(time.Minute), Due: due},
			// Returning a dossier in progress is no transition: a rejection.
			f.event(code+"/3", "return", code, ag, due.Add(2*time.Minute), nil),
		)
	}
	var access *Access
	if withAccess {
		var b strings.Builder
		b.WriteString("users:\n")
		for _, u := range fixtureUsers {
			tok, hash, err := NewToken()
			if err != nil {
				t.Fatal(err)
			}
			f.tokens[u[0]] = tok
			fmt.Fprintf(&b, "  - name: %s\n    token_sha256: %s\n    role: %s\n", u[0], hash, u[1])
			if u[2] != "" {
				fmt.Fprintf(&b, "    agencies: [%s]\n", u[2])
			}
		}
		if access, err = ParseAccess(strings.NewReader(b.String()), "access.yaml"); err != nil {
			t.Fatal(err)
		}
	}
	now := due.AddDate(0, 0, 3)
	f.srv = newTestServer(New(Config{Store: db, Catalog: cat, Feed: f.feed, Access: access,
		Now: func() time.Time { return now }}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.feed.Close) // ends the feed streams, which srv.Close waits for
	return f
}

// event builds an event of the fixture's source and procedure.
func (f *fixture) event(id, action, code, agency string, at time.Time, opt func(*workflow.Event)) *workflow.Event {
	e := &workflow.Event{ID: id, SourceURI: "/motcua/test", Source: "test", Action: action, Dossier: code, Time: at,
		Procedure: "1.004227", Agency: agency, Actor: "canbo-01", Department: "phong-tn"}
	if opt != nil {
		opt(e)
	}
	return e
}

// apply applies the events as one batch, publishes its result to the
// feed and returns it.
func (f *fixture) apply(events ...*workflow.Event) workflow.BatchResult {
	f.t.Helper()
	batch := make([]workflow.Envelope, len(events))
	for i, e := range events {
		f.seq++
		batch[i] = workflow.Envelope{Seq: f.seq, Subject: "hoso.events." + e.Source + "." + workflow.DossierToken(e.Dossier),
			Published: fixtureStart.Add(time.Duration(f.seq) * time.Second), Event: e}
	}
	res, err := f.db.Apply(context.Background(), batch)
	if err != nil {
		f.t.Fatalf("Apply = %v", err)
	}
	f.feed.Publish(res)
	return res
}

// do sends a request as the user ("" for none) and returns the response
// with its body read.
func (f *fixture) do(req *http.Request, user string) (*http.Response, string) {
	f.t.Helper()
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// get GETs path as the user.
func (f *fixture) get(path, user string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.do(req, user)
}
