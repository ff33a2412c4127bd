package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nodeDir holds the Node.js source system: package.json, its lock file
// and source.js.
const nodeDir = "node"

// nodeInstall says how to get what TestNodeSDK needs.
const nodeInstall = "install Node.js 18 or later and npm (Debian: apt-get install -y --no-install-recommends nodejs npm), " +
	"then run `npm ci` in conformance/node; .ci/run does both"

// requireNode returns the node binary's path, and fails the test (never
// skips it) when node or the npm packages source.js imports are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): %s", err, nodeInstall)
	}
	for _, pkg := range []string{"nats", "cloudevents"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("npm package %s not installed in conformance/node (%v): %s", pkg, err, nodeInstall)
		}
	}
	return node
}

// nodeLine is one line source.js prints: a publish with its JetStream
// acknowledgement, an outcome it read, or the end.
type nodeLine struct {
	Publish   string       `json:"publish"`
	ID        string       `json:"id"`
	Time      string       `json:"time"`
	Subject   string       `json:"subject"`
	Stream    string       `json:"stream"`
	Seq       uint64       `json:"seq"`
	Duplicate bool         `json:"duplicate"`
	Outcome   *nodeOutcome `json:"outcome"`
	Done      bool         `json:"done"`
	Stored    int          `json:"stored"`
	Outcomes  int          `json:"outcomes"`
}

// nodeOutcome holds the outcome fields of docs/contract.md ("Outcome
// fields") the test checks.
type nodeOutcome struct {
	Kind           string `json:"kind"`
	Seq            uint64 `json:"seq"`
	EventID        string `json:"event_id"`
	Source         string `json:"source"`
	Dossier        string `json:"dossier"`
	Action         string `json:"action"`
	Status         *int   `json:"status"`
	PreviousStatus *int   `json:"previous_status"`
	ClaimedStatus  *int   `json:"claimed_status"`
	Reason         string `json:"reason"`
	MessageEN      string `json:"message_en"`
	HistoryIndex   *int   `json:"history_index"`
	EntryHash      string `json:"entry_hash"`
}

// runNode runs source.js as source s against h and returns its lines.
func runNode(t *testing.T, node string, h *hoso, s source) []nodeLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "source.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "NATS_URL="+h.NATSURL, "HOSO_SOURCE="+s.Token,
		"NATS_USER="+s.User, "NATS_PASSWORD="+s.Password)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node source.js: %v\nstdout:\n%s\nstderr:\n%s\nhoso:\n%s", err, &stdout, &stderr, h.log)
	}
	var lines []nodeLine
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l nodeLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("node source.js printed %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// wantOutcome is what the contract says an event is answered with.
// Status, PreviousStatus, ClaimedStatus and HistoryIndex are -1 where
// the field must be absent; an empty Action is not compared (the action
// of an event hoso could not read is not part of the contract's answer).
type wantOutcome struct {
	Kind, Reason, Action, Dossier         string
	Status, PreviousStatus, ClaimedStatus int
	HistoryIndex                          int
	MessageHas                            string // in message_en
}

func intOr(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// TestNodeSDK runs conformance/node/source.js — a source system written
// with the official NATS client for Node.js (npm nats) and the
// CloudEvents JavaScript SDK (npm cloudevents) — as the source tayninh
// against `hoso serve` with access control, and checks that each event it
// publishes is answered with exactly the outcome docs/contract.md says,
// read through its durable consumer outcomes-tayninh; that hanoi's
// consumer sees none of them; and that the HTTP API holds the same.
func TestNodeSDK(t *testing.T) {
	node := requireNode(t)
	h := startHoso(t)
	lines := runNode(t, node, h, sources["tayninh"])

	const (
		codeA  = "000.00.12.H57-NODE-0001"
		codeB  = "000.00.12.H57-NODE-0002"
		tokenA = "000_00_12_H57-NODE-0001"
		tokenB = "000_00_12_H57-NODE-0002"
	)
	// The steps of source.js, in the order it publishes them, and the
	// contract's answer to each (docs/contract.md "Outcomes", "Reason
	// codes", "Statuses and actions"; the standard flow decides 1.004227,
	// which no other definition names).
	want := map[string]wantOutcome{
		// A new dossier received at the counter: 2 Được tiếp nhận, no
		// previous status, the first history entry.
		"receive": {Kind: "accepted", Action: "receive", Dossier: codeA, Status: 2, PreviousStatus: -1, ClaimedStatus: 2, HistoryIndex: 0},
		// assign 2 → 4 applied, but the event claimed 9.
		"assign-wrong-status": {Kind: "correction", Reason: "status_mismatch", Action: "assign", Dossier: codeA, Status: 4, PreviousStatus: 2, ClaimedStatus: 9, HistoryIndex: 1},
		// return needs status 9; the dossier stays in 4.
		"return-invalid": {Kind: "rejected", Reason: "invalid_transition", Action: "return", Dossier: codeA, Status: 4, PreviousStatus: -1, ClaimedStatus: 10, HistoryIndex: -1},
		// data.actor is required: malformed, and message_en names it.
		"missing-actor": {Kind: "rejected", Reason: "malformed", Dossier: codeA, Status: 4, PreviousStatus: -1, ClaimedStatus: -1, HistoryIndex: -1, MessageHas: "data.actor"},
		// Two builds of one transfer without id and time are two events:
		// two handoffs inside 4, history entries 2 and 3.
		"transfer-build-1": {Kind: "accepted", Action: "transfer", Dossier: codeA, Status: 4, PreviousStatus: 4, ClaimedStatus: 4, HistoryIndex: 2},
		"transfer-build-2": {Kind: "accepted", Action: "transfer", Dossier: codeA, Status: 4, PreviousStatus: 4, ClaimedStatus: 4, HistoryIndex: 3},
		"b-receive":        {Kind: "accepted", Action: "receive", Dossier: codeB, Status: 2, PreviousStatus: -1, ClaimedStatus: 2, HistoryIndex: 0},
		// Two builds of one assign: the first applied (2 → 4), the second
		// a new event rejected for the state the first left.
		"assign-build-1": {Kind: "accepted", Action: "assign", Dossier: codeB, Status: 4, PreviousStatus: 2, ClaimedStatus: 4, HistoryIndex: 1},
		"assign-build-2": {Kind: "rejected", Reason: "invalid_transition", Action: "assign", Dossier: codeB, Status: 4, PreviousStatus: -1, ClaimedStatus: 4, HistoryIndex: -1},
	}
	steps := []string{"receive", "receive-repeat", "assign-wrong-status", "return-invalid", "missing-actor",
		"transfer-build-1", "transfer-build-2", "b-receive", "assign-build-1", "assign-build-2"}

	pubs := map[string]nodeLine{}
	var order []string
	bySeq := map[uint64][]nodeLine{}
	var done *nodeLine
	for _, l := range lines {
		switch {
		case l.Publish != "":
			pubs[l.Publish] = l
			order = append(order, l.Publish)
		case l.Outcome != nil:
			bySeq[l.Outcome.Seq] = append(bySeq[l.Outcome.Seq], l)
		case l.Done:
			done = &l
		}
	}
	if diff := cmp.Diff(steps, order); diff != "" {
		t.Fatalf("source.js published steps (-want +got):\n%s", diff)
	}
	if done == nil {
		t.Fatalf("source.js printed no end line")
	}

	// Every publish was stored in HOSO_EVENTS, the repeat as a duplicate
	// of the first copy (the stream's duplicate window), each other one
	// at a sequence of its own.
	seqs := map[uint64]string{}
	for _, step := range steps {
		p := pubs[step]
		if p.Stream != "HOSO_EVENTS" {
			t.Errorf("%s: stored in stream %q, want HOSO_EVENTS", step, p.Stream)
		}
		wantSubject := "hoso.events.tayninh." + tokenA
		if want[step].Dossier == codeB {
			wantSubject = "hoso.events.tayninh." + tokenB
		}
		if step == "receive-repeat" {
			if !p.Duplicate || p.Seq != pubs["receive"].Seq || p.ID != pubs["receive"].ID {
				t.Errorf("repeat of %s: ack seq %d duplicate %v, want seq %d duplicate true", pubs["receive"].ID, p.Seq, p.Duplicate, pubs["receive"].Seq)
			}
			continue
		}
		if p.Subject != wantSubject {
			t.Errorf("%s: published on %q, want %q", step, p.Subject, wantSubject)
		}
		if p.Duplicate {
			t.Errorf("%s (%s): ack says duplicate, want a new message", step, p.ID)
		}
		if other, ok := seqs[p.Seq]; ok {
			t.Errorf("%s and %s both stored at sequence %d", step, other, p.Seq)
		}
		seqs[p.Seq] = step
	}
	if done.Stored != len(want) || done.Outcomes != len(want) {
		t.Errorf("source.js stored %d events and read %d outcomes, want %d and %d", done.Stored, done.Outcomes, len(want), len(want))
	}

	// The SDK gave each build without id a fresh UUID (so a distinct
	// Nats-Msg-Id) and a fresh time, later than every event given one.
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, pair := range [][2]string{{"transfer-build-1", "transfer-build-2"}, {"assign-build-1", "assign-build-2"}} {
		a, b := pubs[pair[0]], pubs[pair[1]]
		if a.ID == b.ID || !uuid.MatchString(a.ID) || !uuid.MatchString(b.ID) {
			t.Errorf("%s and %s: ids %q and %q, want two distinct UUIDs made by the SDK", pair[0], pair[1], a.ID, b.ID)
		}
		for _, p := range []nodeLine{a, b} {
			pt, err1 := time.Parse(time.RFC3339Nano, p.Time)
			given, err2 := time.Parse(time.RFC3339Nano, pubs["b-receive"].Time)
			if err1 != nil || err2 != nil || !pt.After(given) {
				t.Errorf("%s: time %q, want the time it was built, after %q (%v, %v)", p.ID, p.Time, pubs["b-receive"].Time, err1, err2)
			}
		}
	}

	// Exactly one outcome per stored event, on the subject of its kind,
	// source and dossier, and none for anything else.
	hashes := map[string]string{} // step → entry_hash
	for seq, ls := range bySeq {
		if _, ok := seqs[seq]; !ok {
			t.Errorf("outcome for sequence %d, which source.js did not store: %+v", seq, ls[0].Outcome)
		}
	}
	for _, step := range steps {
		if step == "receive-repeat" {
			continue
		}
		p, w := pubs[step], want[step]
		ls := bySeq[p.Seq]
		if len(ls) != 1 {
			t.Errorf("%s (seq %d): %d outcomes, want 1", step, p.Seq, len(ls))
			continue
		}
		o := ls[0].Outcome
		token := strings.ReplaceAll(w.Dossier, ".", "_")
		if wantSubj := "hoso.outcomes." + w.Kind + ".tayninh." + token; ls[0].Subject != wantSubj {
			t.Errorf("%s: outcome on %q, want %q", step, ls[0].Subject, wantSubj)
		}
		got := wantOutcome{Kind: o.Kind, Reason: o.Reason, Action: o.Action, Dossier: o.Dossier,
			Status: intOr(o.Status), PreviousStatus: intOr(o.PreviousStatus), ClaimedStatus: intOr(o.ClaimedStatus),
			HistoryIndex: intOr(o.HistoryIndex)}
		wantCmp := w
		wantCmp.MessageHas = ""
		if w.Action == "" {
			got.Action = ""
		}
		if diff := cmp.Diff(wantCmp, got); diff != "" {
			t.Errorf("%s (%s): outcome (-want +got):\n%s", step, p.ID, diff)
		}
		if o.EventID != p.ID || o.Source != "tayninh" {
			t.Errorf("%s: outcome names event %q of source %q, want %q of tayninh", step, o.EventID, o.Source, p.ID)
		}
		if !strings.Contains(o.MessageEN, w.MessageHas) {
			t.Errorf("%s: message_en %q, want it to name %q", step, o.MessageEN, w.MessageHas)
		}
		if (w.HistoryIndex >= 0) != (len(o.EntryHash) == 64) {
			t.Errorf("%s: entry_hash %q, want one exactly when an entry was written", step, o.EntryHash)
		}
		hashes[step] = o.EntryHash
	}

	// The source's consumer is caught up, every outcome acked; the
	// stream holds exactly one outcome per stored event for tayninh and
	// none for hanoi, whose own consumer has nothing to deliver.
	checkOutcomeStreams(t, h, len(want))

	// The HTTP API: the dossiers' status and history are those the
	// outcomes reported, entry by entry with the receipts' hashes.
	type status struct {
		Code int `json:"code"`
	}
	type entry struct {
		Index   int    `json:"index"`
		EventID string `json:"event_id"`
		Action  string `json:"action"`
		Hash    string `json:"hash"`
	}
	type dossier struct {
		Status        status  `json:"status"`
		HistoryLength int     `json:"history_length"`
		Rejections    int     `json:"rejections"`
		Mismatches    int     `json:"mismatches"`
		History       []entry `json:"history"`
	}
	for _, d := range []struct {
		code       string
		entries    []string // steps that wrote an entry, in order
		actions    []string
		rejections int
		mismatches int
	}{
		// Rejected: return and the malformed transfer. Mismatches: the
		// assign claiming 9 and the rejected return claiming 10 in status
		// 4 (a rejected event's wrong claim is recorded too).
		{codeA, []string{"receive", "assign-wrong-status", "transfer-build-1", "transfer-build-2"},
			[]string{"receive", "assign", "transfer", "transfer"}, 2, 2},
		// Rejected: the second assign; it claimed 4, the dossier's status.
		{codeB, []string{"b-receive", "assign-build-1"}, []string{"receive", "assign"}, 1, 0},
	} {
		var got dossier
		h.getJSON(t, "/api/v1/dossiers/"+d.code, &got)
		wantD := dossier{Status: status{4}, HistoryLength: len(d.entries), Rejections: d.rejections, Mismatches: d.mismatches}
		for i, step := range d.entries {
			wantD.History = append(wantD.History, entry{Index: i, EventID: pubs[step].ID, Action: d.actions[i], Hash: hashes[step]})
		}
		if diff := cmp.Diff(wantD, got); diff != "" {
			t.Errorf("GET /api/v1/dossiers/%s (-want +got):\n%s", d.code, diff)
		}
		var v struct {
			OK      bool `json:"ok"`
			Entries int  `json:"entries"`
		}
		h.getJSON(t, "/api/v1/dossiers/"+d.code+"/verify", &v)
		if !v.OK || v.Entries != len(d.entries) {
			t.Errorf("GET /api/v1/dossiers/%s/verify = %+v, want ok with %d entries", d.code, v, len(d.entries))
		}
	}
	var rej struct {
		Items []struct {
			EventID string `json:"event_id"`
			Reason  string `json:"reason"`
		} `json:"items"`
	}
	h.getJSON(t, "/api/v1/rejections?dossier="+codeA, &rej)
	gotRej := map[string]string{}
	for _, r := range rej.Items {
		gotRej[r.EventID] = r.Reason
	}
	wantRej := map[string]string{pubs["return-invalid"].ID: "invalid_transition", pubs["missing-actor"].ID: "malformed"}
	if diff := cmp.Diff(wantRej, gotRej); diff != "" {
		t.Errorf("GET /api/v1/rejections?dossier=%s (-want +got):\n%s", codeA, diff)
	}
}

// checkOutcomeStreams checks, as the supervisors and as hanoi, that
// HOSO_OUTCOMES holds n outcomes of tayninh, all delivered to and acked
// on outcomes-tayninh, and none of hanoi.
func checkOutcomeStreams(t *testing.T, h *hoso, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	connectJS := func(user, password, inbox string) jetstream.JetStream {
		nc, err := nats.Connect(h.NATSURL, nats.UserInfo(user, password), nats.CustomInboxPrefix(inbox))
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}

	sup := connectJS("supervisors", "supervisors-secret-3", "_INBOX_supervisors")
	st, err := sup.Stream(ctx, "HOSO_OUTCOMES")
	if err != nil {
		t.Fatalf("HOSO_OUTCOMES as the supervisors: %v", err)
	}
	for _, src := range []string{"tayninh", "hanoi"} {
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(fmt.Sprintf("hoso.outcomes.*.%s.>", src)))
		if err != nil {
			t.Fatalf("HOSO_OUTCOMES info: %v", err)
		}
		var got uint64
		for _, c := range info.State.Subjects {
			got += c
		}
		wantN := uint64(n)
		if src == "hanoi" {
			wantN = 0
		}
		if got != wantN {
			t.Errorf("HOSO_OUTCOMES holds %d outcomes of %s (%v), want %d", got, src, info.State.Subjects, wantN)
		}
	}
	ci, err := sup.Consumer(ctx, "HOSO_OUTCOMES", "outcomes-tayninh")
	if err != nil {
		t.Fatalf("consumer outcomes-tayninh: %v", err)
	}
	info := ci.CachedInfo()
	if info.Config.FilterSubject != "hoso.outcomes.*.tayninh.>" || info.NumPending != 0 || info.NumAckPending != 0 ||
		info.Delivered.Consumer != uint64(n) || info.AckFloor.Consumer != uint64(n) {
		t.Errorf("outcomes-tayninh: filter %q, pending %d, ack pending %d, delivered %d, ack floor %d; want %q, 0, 0, %d, %d",
			info.Config.FilterSubject, info.NumPending, info.NumAckPending, info.Delivered.Consumer, info.AckFloor.Consumer,
			"hoso.outcomes.*.tayninh.>", n, n)
	}

	hanoi := sources["hanoi"]
	hjs := connectJS(hanoi.User, hanoi.Password, "_INBOX_hanoi")
	hc, err := hjs.CreateOrUpdateConsumer(ctx, "HOSO_OUTCOMES", jetstream.ConsumerConfig{
		Durable: "outcomes-hanoi", FilterSubject: "hoso.outcomes.*.hanoi.>",
		AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatalf("create outcomes-hanoi as hanoi: %v", err)
	}
	if p := hc.CachedInfo().NumPending; p != 0 {
		t.Errorf("outcomes-hanoi has %d outcomes pending, want 0", p)
	}
}
