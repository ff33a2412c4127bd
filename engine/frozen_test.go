package engine_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestFrozenLeader freezes the leading replica (SIGSTOP, as a long GC
// pause or a frozen VM would) past its lease while overdue dossiers
// arrive: the other replica takes over, applies them and its scheduler
// publishes their expiries. Then the frozen one resumes (SIGCONT),
// believing for a moment that it still leads, with a backlog to apply,
// outcomes to publish and a scheduler to run. Nothing applies twice: each
// dossier has one expiry in the log and in both stores, and every stream
// message has exactly one outcome — the repeats the resumed leader
// publishes carry the same message ids and the streams drop them.
func TestFrozenLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a replica past its lease")
	}
	srv := startNATSServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	outcomes := testutil.WatchPublishes(t, nc, "hoso.outcomes.>")
	deadlines := testutil.WatchPublishes(t, nc, "hoso.events."+workflow.SystemSource+".>")

	a, b := startReplica(t, "a", srv.ClientURL(), 100*time.Millisecond), startReplica(t, "b", srv.ClientURL(), 100*time.Millisecond)
	state := func(r *replica) (s api.EngineState) {
		testutil.GetJSON(t, r.url, "/api/v1/admin/state", 200, &s)
		return s
	}
	waitUntil := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var leader, follower *replica
	waitUntil("a leader", 10*time.Second, func() bool {
		sa, sb := state(a), state(b)
		switch {
		case sa.Leader && !sb.Leader:
			leader, follower = a, b
		case sb.Leader && !sa.Leader:
			leader, follower = b, a
		}
		return leader != nil
	})

	const n = 30
	code := func(i int) string { return fmt.Sprintf("000.00.12.H57-251001-%04d", i) }
	receive := func(i int) {
		ev := &workflow.Event{ID: fmt.Sprintf("frozen-%04d", i), SourceURI: "/hoso/emit/tayninh", Source: "tayninh",
			Dossier: code(i), Action: "receive", Procedure: "1.004227", Agency: "H57", Actor: "cb-01",
			Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}},
			Time:        time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone),
			Due:         time.Date(2025, 10, 15, 0, 0, 0, 0, workflow.Zone)} // long overdue
		if _, err := testutil.PublishEvent(nc, ev, 10*time.Second); err != nil {
			t.Fatalf("receive %s: %v", ev.Dossier, err)
		}
	}

	leader.p.Signal(t, syscall.SIGSTOP)
	frozen := time.Now()
	for i := range n {
		receive(i)
	}
	waitUntil(follower.name+" leading", 20*time.Second, func() bool { return state(follower).Leader })
	waitUntil("the expiry of each overdue dossier", 20*time.Second, func() bool { k, _ := deadlines.Seen(); return k >= n })
	time.Sleep(time.Until(frozen.Add(4 * time.Second))) // twice the lease
	leader.p.Signal(t, syscall.SIGCONT)
	leader.p.WaitFor(t, "lost the lease: following")

	// Both apply the whole log: n receipts and n expiries, nothing more.
	want := uint64(2 * n)
	waitUntil("both replicas applying the log", 30*time.Second, func() bool {
		return state(a).AppliedSeq >= want && state(b).AppliedSeq >= want
	})
	time.Sleep(time.Second) // ten scans of each scheduler: a repeat would have been published by now
	_, js := testutil.Connect(t, srv.ClientURL())
	testutil.WaitOutcomes(t, js, want, 20*time.Second)
	expiries := map[string]int{}
	for _, o := range testutil.ReadOutcomes(t, js, int(want)) {
		if o.Kind == workflow.OutcomeDeadline && o.Action == workflow.DeadlineExpired {
			expiries[o.Dossier]++
		}
	}
	sa, sb := state(a), state(b)
	if sa.AppliedSeq != want || sb.AppliedSeq != want || sa.StateHash != sb.StateHash {
		t.Fatalf("after the resume: %+v and %+v, want both at sequence %d with one state hash", sa, sb, want)
	}
	for i := range n {
		if expiries[code(i)] != 1 {
			t.Errorf("%s: %d expiries applied, want one", code(i), expiries[code(i)])
		}
	}
	for _, r := range []*replica{a, b} {
		var rej api.Page[api.Rejection]
		testutil.GetJSON(t, r.url, "/api/v1/rejections", 200, &rej)
		var d api.Dossier
		testutil.GetJSON(t, r.url, "/api/v1/dossiers/"+code(0), 200, &d)
		if len(rej.Items) != 0 || !d.Overdue {
			t.Errorf("%s: rejections %+v, %s overdue %v; want none, and overdue", r.name, rej.Items, code(0), d.Overdue)
		}
	}
	k, repeatedDeadlines := deadlines.Seen()
	m, repeatedOutcomes := outcomes.Seen()
	t.Logf("published: %d deadline events (%d of them again, dropped by %s), %d outcomes (%d again, dropped by %s)",
		k, len(repeatedDeadlines), events.EventsStream, m, len(repeatedOutcomes), events.OutcomesStream)
}
