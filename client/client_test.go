package client_test

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/client"
	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

const dossier = "000.00.12.H57-250901-0001"

// receive is the receipt of the test's dossier at the counter.
func receive(id string) client.Event {
	return client.Event{
		ID: id, Time: time.Date(2025, 9, 1, 8, 15, 0, 0, workflow.Zone),
		Action: client.Receive, Dossier: dossier, Procedure: "1.004227", Agency: "H57", Actor: "cb-0142",
		Due:         client.Day(2025, time.September, 15),
		Attachments: []client.Attachment{{Kind: "input_digitized", Name: "don.pdf"}},
	}
}

// startWithUsers starts hoso with access control: the NATS users tayninh
// and hanoi, each a source of that name.
func startWithUsers(t *testing.T) *testutil.Instance {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nats-users.yaml")
	users := "users:\n  - name: tayninh\n    password: tayninh-secret-1\n    source: tayninh\n" +
		"  - name: hanoi\n    password: hanoi-secret-22\n    source: hanoi\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t.TempDir())
	cfg.NATSUsers = path
	return testutil.Start(t, cfg)
}

// connectAs connects as a source's user, with its inbox prefix.
func connectAs(t *testing.T, url, user, password string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(user, password), client.InboxPrefix(user),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newSource(t *testing.T, nc *nats.Conn, name string) *client.Source {
	t.Helper()
	src, err := client.NewSource(nc, name, client.WithSourceURI("/motcua/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSourceUnderAccessControl publishes as the source tayninh with only
// its own permissions: acknowledgements, a duplicate acknowledgement for
// a repeat, then the outcomes in order with their kinds and reasons, and
// a reader on a new connection resumes after the last outcome it
// acknowledged.
func TestSourceUnderAccessControl(t *testing.T) {
	in := startWithUsers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := newSource(t, connectAs(t, in.NATSURL, "tayninh", "tayninh-secret-1"), "tayninh")

	rcv := receive("ev-1")
	ack, err := src.Publish(ctx, &rcv)
	if err != nil || ack != (client.Ack{ID: "ev-1", Subject: "hoso.events.tayninh.000_00_12_H57-250901-0001", Sequence: 1, Attempts: 1}) {
		t.Fatalf("Publish(receive) = %+v, %v; want sequence 1, not a duplicate, 1 attempt", ack, err)
	}
	ack, err = src.Publish(ctx, &rcv)
	if err != nil || ack != (client.Ack{ID: "ev-1", Subject: "hoso.events.tayninh.000_00_12_H57-250901-0001", Sequence: 1, Duplicate: true, Attempts: 1}) {
		t.Fatalf("Publish(receive) again = %+v, %v; want a duplicate of sequence 1", ack, err)
	}
	// Resolving a dossier that is only received is not allowed.
	resolve := client.Event{ID: "ev-2", Time: rcv.Time.Add(time.Hour), Action: client.Resolve, Dossier: dossier,
		Procedure: "1.004227", Agency: "H57", Actor: "cb-0142", ClaimedStatus: workflow.StatusResolved}
	if ack, err := src.Publish(ctx, &resolve); err != nil || ack.Sequence != 2 {
		t.Fatalf("Publish(resolve) = %+v, %v; want sequence 2", ack, err)
	}
	// Assigning it is, but the status is 4, not the 9 claimed.
	assign := client.Event{ID: "ev-3", Time: rcv.Time.Add(2 * time.Hour), Action: client.Assign, Dossier: dossier,
		Procedure: "1.004227", Agency: "H57", Actor: "cb-0142", Department: "phong-tn", ClaimedStatus: workflow.StatusResolved}
	if ack, err := src.Publish(ctx, &assign); err != nil || ack.Sequence != 3 {
		t.Fatalf("Publish(assign) = %+v, %v; want sequence 3", ack, err)
	}

	type got struct {
		Kind           client.Kind
		Seq            uint64
		EventID        string
		Reason         client.Reason
		Status         client.Status
		HistoryIndex   int
		ClaimedStatus  client.Status
		PreviousStatus client.Status
	}
	want := []got{
		{client.Accepted, 1, "ev-1", "", workflow.StatusReceived, 0, 0, 0},
		{client.Rejected, 2, "ev-2", client.ReasonInvalidTransition, workflow.StatusReceived, -1, workflow.StatusResolved, 0},
		{client.Correction, 3, "ev-3", client.ReasonStatusMismatch, workflow.StatusProcessing, 1, workflow.StatusResolved, workflow.StatusReceived},
	}
	outs, err := src.Outcomes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want[:2] {
		m, err := outs.Next(ctx)
		if err != nil {
			t.Fatalf("Outcomes.Next: %v", err)
		}
		g := got{m.Kind, m.Seq, m.EventID, m.Reason, m.Status, m.HistoryIndex, m.ClaimedStatus, m.PreviousStatus}
		if g != w {
			t.Errorf("outcome = %+v, want %+v", g, w)
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A new connection, as after a restart of the vendor's system.
	src = newSource(t, connectAs(t, in.NATSURL, "tayninh", "tayninh-secret-1"), "tayninh")
	outs, err = src.Outcomes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := outs.Next(ctx)
	if err != nil {
		t.Fatalf("Outcomes.Next after reconnecting: %v", err)
	}
	if g := (got{m.Kind, m.Seq, m.EventID, m.Reason, m.Status, m.HistoryIndex, m.ClaimedStatus, m.PreviousStatus}); g != want[2] {
		t.Errorf("after reconnecting, outcome = %+v, want %+v", g, want[2])
	}
	if len(m.EntryHash) != 64 {
		t.Errorf("correction's entry_hash = %q, want 64 hex digits", m.EntryHash)
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatal(err)
	}

	// Emit waits for the outcome of the event it publishes.
	ret := client.Event{ID: "ev-4", Time: rcv.Time.Add(3 * time.Hour), Action: client.Return, Dossier: dossier,
		Procedure: "1.004227", Agency: "H57", Actor: "cb-0142"}
	o, ack, err := src.Emit(ctx, &ret)
	if err != nil || ack.Sequence != 4 || o.Kind != client.Rejected || o.Reason != client.ReasonInvalidTransition || o.EventID != "ev-4" {
		t.Fatalf("Emit(return) = %+v, %+v, %v; want sequence 4 rejected invalid_transition", o, ack, err)
	}
	if _, ack, err := src.Emit(ctx, &ret); !errors.Is(err, client.ErrDuplicate) || ack.Sequence != 4 {
		t.Errorf("Emit(return) again = %+v, %v; want ErrDuplicate of sequence 4", ack, err)
	}
}

// TestSourceOnlyItsOwn: a source's user cannot publish as another source,
// and cannot read another source's outcomes: the client reports the
// server's refusal instead of retrying it forever.
func TestSourceOnlyItsOwn(t *testing.T) {
	in := startWithUsers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc := connectAs(t, in.NATSURL, "tayninh", "tayninh-secret-1")
	// As if tayninh's system spoke for hanoi: it keeps tayninh's inboxes.
	other, err := client.NewSource(nc, "hanoi")
	if err != nil {
		t.Fatal(err)
	}
	ev := receive("ev-x")
	if _, err := other.Publish(ctx, &ev); err == nil {
		t.Error("tayninh's user published an event of hanoi")
	}
	if ctx.Err() != nil {
		t.Fatal("Publish retried a permission violation until the context ended")
	}
	// The server does not answer a refused request: it fails when the
	// context ends.
	octx, ocancel := context.WithTimeout(ctx, 2*time.Second)
	defer ocancel()
	if _, err := other.Outcomes(octx); err == nil {
		t.Error("tayninh's user made or bound hanoi's outcome consumer")
	}
}

// TestPublishRetriesUntilStored publishes while no stream takes hoso's
// events, so the first attempt gets no acknowledgement; once the stream
// exists, a retry of the same message is stored, once.
func TestPublishRetriesUntilStored(t *testing.T) {
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js := testutil.Connect(t, srv.ClientURL())
	// A plain subscriber sees each attempt; it answers none.
	seen, err := nc.SubscribeSync(events.EventsSubject)
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.NewSource(nc, "tayninh", client.WithAttemptTimeout(200*time.Millisecond), client.WithRetryWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		ack client.Ack
		err error
	}
	done := make(chan result, 1)
	ev := receive("ev-retry")
	go func() {
		ack, err := src.Publish(ctx, &ev)
		done <- result{ack, err}
	}()
	first, err := seen.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no attempt seen: %v", err)
	}
	if err := seen.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Setup(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.ack.Sequence != 1 || r.ack.Duplicate || r.ack.Attempts < 2 {
		t.Fatalf("Publish = %+v, %v; want sequence 1 after at least 2 attempts", r.ack, r.err)
	}
	stored, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stored.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("the stream holds %d messages, want 1", info.State.Msgs)
	}
	m, err := stored.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != string(first.Data) || m.Header.Get(jetstream.MsgIDHeader) != "ev-retry" || first.Header.Get(jetstream.MsgIDHeader) != "ev-retry" {
		t.Errorf("the stored message differs from the first attempt: %s %v, first %s %v", m.Data, m.Header, first.Data, first.Header)
	}
}

// TestEncodeRejects: an event hoso would reject as malformed is not sent,
// and the error names the problem.
func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*client.Event)
		want   string
	}{
		{"no id", func(e *client.Event) { e.ID = "" }, "id and time are required"},
		{"no time", func(e *client.Event) { e.Time = time.Time{} }, "id and time are required"},
		{"no actor", func(e *client.Event) { e.Actor = "" }, "actor"},
		{"a dossier code with a space", func(e *client.Event) { e.Dossier = "000.00.12 H57" }, "subject"},
		{"a time before 2000", func(e *client.Event) { e.Time = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }, "time"},
		{"a time two days ahead", func(e *client.Event) { e.Time = time.Now().Add(48 * time.Hour) }, "time"},
		{"a satisfaction of 6", func(e *client.Event) { e.Satisfaction = 6 }, "satisfaction"},
		{"an unknown channel", func(e *client.Event) { e.Channel = "fax" }, "channel"},
		{"entered before time", func(e *client.Event) { e.Entered = e.Time.Add(-time.Minute) }, "entered"},
	} {
		ev := receive("ev-1")
		tc.change(&ev)
		_, _, err := ev.Encode("tayninh", "/motcua/tayninh")
		if !errors.Is(err, client.ErrInvalidEvent) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Encode = %v, want ErrInvalidEvent naming %q", tc.name, err, tc.want)
		}
	}
	ev := receive("ev-1")
	subject, payload, err := ev.Encode("tayninh", "/motcua/tayninh")
	if err != nil || subject != "hoso.events.tayninh.000_00_12_H57-250901-0001" {
		t.Fatalf("Encode = %q, %v; want subject hoso.events.tayninh.000_00_12_H57-250901-0001", subject, err)
	}
	for _, part := range []string{`"due":"2025-09-15"`, `"type":"vn.gov.hoso.receive"`, `"source":"/motcua/tayninh"`, `"time":"2025-09-01T08:15:00+07:00"`} {
		if !strings.Contains(string(payload), part) {
			t.Errorf("payload %s lacks %s", payload, part)
		}
	}
	_, err = client.NewSource(&nats.Conn{}, "TayNinh")
	if !errors.Is(err, client.ErrInvalidEvent) {
		t.Errorf("NewSource(TayNinh) = %v, want ErrInvalidEvent: a source token is lowercase", err)
	}
}

// TestStampOnce: Stamp fills in the id and time once; a second call, as a
// retry would make, changes neither.
func TestStampOnce(t *testing.T) {
	var ev client.Event
	ev.Stamp()
	id, at := ev.ID, ev.Time
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) || at.IsZero() {
		t.Fatalf("after Stamp, id %q time %v; want a UUID v4 and a time", id, at)
	}
	ev.Stamp()
	if ev.ID != id || !ev.Time.Equal(at) {
		t.Errorf("a second Stamp changed id %q → %q, time %v → %v", id, ev.ID, at, ev.Time)
	}
}

// TestReasonsAreTheContracts: the client's reason codes are workflow's,
// every one, and those of docs/contract.md's table.
func TestReasonsAreTheContracts(t *testing.T) {
	var mine, hosos []string
	for _, r := range client.Reasons() {
		mine = append(mine, string(r))
	}
	for _, r := range workflow.Reasons() {
		hosos = append(hosos, string(r))
	}
	slices.Sort(mine)
	slices.Sort(hosos)
	if !slices.Equal(mine, hosos) {
		t.Errorf("client.Reasons() = %v\nworkflow.Reasons() = %v", mine, hosos)
	}
	doc, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "### Reason codes")
	table, _, _ = strings.Cut(table, "\n### ")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	if !slices.Equal(mine, documented) {
		t.Errorf("client.Reasons() = %v\ndocs/contract.md lists %v", mine, documented)
	}
}

// TestSetLookup: SetLookup gives the event the digest of the secret for
// its dossier, which Encode sends as data.lookup and hoso keeps; a short
// key, a refused secret or a missing code are errors that leave the
// event as it was.
func TestSetLookup(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	// HMAC-SHA256(bytes 0..31, "000.00.12.H57-250901-0001\nAB12CD34"),
	// computed with Python's hmac.
	const want = "a08ff8ba8bcbb81ef433557a5ef77693d1313f0bbffb16f1df1c461cc879b2c5"
	ev := receive("ev-lookup")
	if err := ev.SetLookup(key, "ab12-cd34"); err != nil {
		t.Fatalf("SetLookup = %v", err)
	}
	_, payload, err := ev.Encode("tayninh", "/motcua/tayninh")
	if err != nil || !strings.Contains(string(payload), `"lookup":"`+want+`"`) {
		t.Fatalf("Encode = %s, %v; want data.lookup %s", payload, err, want)
	}
	set := ev.Lookup
	for _, tc := range []struct {
		name   string
		key    []byte
		secret string
		code   string
		want   string
	}{
		{"a key of 31 bytes", key[:31], "AB12CD34", dossier, "31 bytes"},
		{"a secret of 3 characters", key, "A-B C", dossier, "lookup secret"},
		{"a secret with a diacritic", key, "ĐB12CD34", dossier, "lookup secret"},
		{"no dossier code", key, "AB12CD34", "", "dossier code"},
	} {
		e := receive("ev-lookup")
		e.Dossier, e.Lookup = tc.code, set
		if err := e.SetLookup(tc.key, tc.secret); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SetLookup = %v, want an error saying %q", tc.name, err, tc.want)
		}
		if e.Lookup != set {
			t.Errorf("%s: a failed SetLookup changed Lookup", tc.name)
		}
	}

	// hoso accepts it and keeps it with the dossier.
	dir := t.TempDir()
	in := testutil.Start(t, testutil.Config(dir))
	nc, err := nats.Connect(in.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := newSource(t, nc, "tayninh").Emit(ctx, &ev)
	if err != nil || out.Kind != client.Accepted {
		t.Fatalf("Emit = %+v, %v; want accepted", out, err)
	}
	in.Stop(t)
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "hoso.db"), store.Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, ok, err := db.Lookup(ctx, dossier)
	if err != nil || !ok || hex.EncodeToString(d.Lookup[:]) != want {
		t.Errorf("the store holds %x, %t, %v; want %s", d.Lookup, ok, err, want)
	}
}
