package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// pgStep is one accepted event of a dossier's history.
type pgStep struct {
	Action, From, To, EventID string
}

// pgExpected is where the peer must end over a stream.
type pgExpected struct {
	events, rejected, skipped int
	status                    map[string]string   // dossier code → state
	history                   map[string][]pgStep // dossier code → accepted events, in order
	audits                    map[string]int      // dossier code → events
}

// pgReplay replays items on the definitions the way the peer must,
// without PostgreSQL: a dossier follows the definition in force for its
// procedure at the stream's first event; an event is accepted when its
// action leaves the dossier's state in that definition and its id is new.
func pgReplay(t *testing.T, cat *workflow.Catalog, items []simulate.Item) pgExpected {
	t.Helper()
	x := pgExpected{status: map[string]string{}, history: map[string][]pgStep{}, audits: map[string]int{}}
	var start time.Time
	procedure := map[string]string{}
	seen := map[string]bool{}
	for _, it := range items {
		e := it.Event
		if e == nil {
			x.skipped++
			continue
		}
		if start.IsZero() {
			start = e.Time
		}
		x.events++
		x.audits[e.Dossier]++
		state, ok := x.status[e.Dossier]
		if !ok {
			state, procedure[e.Dossier] = workflow.StartState, e.Procedure
		}
		def := cat.Resolve(procedure[e.Dossier], start)
		if def == nil {
			t.Fatalf("no definition for procedure %q at %v", procedure[e.Dossier], start)
		}
		a := def.Action(e.Action)
		if a == nil || !slices.Contains(a.From, state) || seen[e.ID] {
			x.rejected++
			continue
		}
		seen[e.ID] = true
		to := a.To
		if a.Stay {
			to = state
		}
		x.status[e.Dossier] = to
		x.history[e.Dossier] = append(x.history[e.Dossier], pgStep{Action: e.Action, From: state, To: to, EventID: e.ID})
	}
	return x
}

// hosoStates replays items through hoso's decision and returns each
// dossier's final state.
func hosoStates(cat *workflow.Catalog, items []simulate.Item) map[string]string {
	dossiers := map[string]*workflow.Dossier{}
	seen := map[string]bool{}
	for i, it := range items {
		if it.Event == nil {
			continue
		}
		ev := *it.Event
		env := workflow.Envelope{Seq: uint64(i + 1), Subject: it.Subject, Published: it.Time, Event: &ev}
		if seen[ev.ID] {
			env.RejectDuplicate()
		}
		seen[ev.ID] = true
		if dec := cat.Decide(dossiers[ev.Dossier], &env); dec.Dossier != nil {
			dossiers[ev.Dossier] = dec.Dossier
		}
	}
	states := map[string]string{}
	for code, d := range dossiers {
		states[code] = d.State
	}
	return states
}

// TestPGPeer runs the PostgreSQL peer on a real server over a simulated
// stream with one, four and 64 clients (the suite's most by default), and
// checks what it wrote: every dossier's status and history as a replay of
// the definitions gives them, one audit row per event, the counts it
// reports, and the same final states as hoso reaches on the stream.
func TestPGPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn, stop, err := startPostgres(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("startPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})

	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers, cfg.Faults = 5, 150, 0.3
	items, truth, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	want := pgReplay(t, cat, items)
	if want.rejected == 0 || want.skipped == 0 {
		t.Fatalf("the stream has %d events the peer must refuse and %d unreadable ones, want some of each", want.rejected, want.skipped)
	}
	if len(want.status) != truth.Dossiers {
		t.Fatalf("replay has %d dossiers, the simulator's truth %d", len(want.status), truth.Dossiers)
	}
	if diff := cmp.Diff(hosoStates(cat, items), want.status); diff != "" {
		t.Errorf("final states, hoso's decision (-) against the peer's rules (+):\n%s", diff)
	}

	for _, clients := range []int{1, 4, 64} {
		t.Run(fmt.Sprintf("clients=%d", clients), func(t *testing.T) {
			res, err := runPGPeer(ctx, dsn, cat, items, clients)
			if err != nil {
				t.Fatalf("runPGPeer: %v", err)
			}
			t.Logf("%d clients: %d events in %v, %.0f events/s", clients, res.Events, res.Elapsed, res.PerSecond())
			got := pgResult{Clients: res.Clients, Events: res.Events, Rejected: res.Rejected, Skipped: res.Skipped}
			wantRes := pgResult{Clients: clients, Events: want.events, Rejected: want.rejected, Skipped: want.skipped}
			if got != wantRes {
				t.Errorf("result = %+v, want %+v", got, wantRes)
			}
			conn := pgConnect(t, ctx, dsn, res.Schema)

			status := map[string]string{}
			rows, _ := conn.Query(ctx, `SELECT code, status FROM dossiers`)
			var code, st string
			if _, err := pgx.ForEachRow(rows, []any{&code, &st}, func() error { status[code] = st; return nil }); err != nil {
				t.Fatalf("read dossiers: %v", err)
			}
			if diff := cmp.Diff(want.status, status); diff != "" {
				t.Errorf("dossiers' status (-want +got):\n%s", diff)
			}

			history := map[string][]pgStep{}
			rows, _ = conn.Query(ctx, `SELECT code, action, from_status, to_status, event_id FROM dossier_events ORDER BY id`)
			var s pgStep
			if _, err := pgx.ForEachRow(rows, []any{&code, &s.Action, &s.From, &s.To, &s.EventID}, func() error {
				history[code] = append(history[code], s)
				return nil
			}); err != nil {
				t.Fatalf("read dossier_events: %v", err)
			}
			if diff := cmp.Diff(want.history, history); diff != "" {
				t.Errorf("dossier_events (-want +got):\n%s", diff)
			}

			audits := map[string]int{}
			var n int
			rows, _ = conn.Query(ctx, `SELECT code, count(*) FROM audit GROUP BY code`)
			if _, err := pgx.ForEachRow(rows, []any{&code, &n}, func() error { audits[code] = n; return nil }); err != nil {
				t.Fatalf("read audit: %v", err)
			}
			if diff := cmp.Diff(want.audits, audits); diff != "" {
				t.Errorf("audit rows per dossier (-want +got):\n%s", diff)
			}
			var refused int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit WHERE NOT (detail->>'accepted')::boolean`).Scan(&refused); err != nil {
				t.Fatalf("count refusals: %v", err)
			}
			if refused != want.rejected {
				t.Errorf("audit rows of refused events = %d, want %d", refused, want.rejected)
			}
		})
	}
}

// pgResult is the part of a pgPeerResult a test can predict.
type pgResult struct {
	Clients, Events, Rejected, Skipped int
}

// pgConnect connects to the server with the schema of a run as search
// path, closed when the test ends.
func pgConnect(t *testing.T, ctx context.Context, dsn, schema string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// BenchmarkPGPeer measures the PostgreSQL peer over about 20,000 events
// of a simulated stream with 1 and 16 clients, in events committed per
// second. Each iteration replays the whole stream into a fresh schema:
// run it with -benchtime=1x.
func BenchmarkPGPeer(b *testing.B) {
	ctx := context.Background()
	dsn, stop, err := startPostgres(ctx, b.TempDir())
	if err != nil {
		b.Fatalf("startPostgres: %v", err)
	}
	b.Cleanup(func() {
		if err := stop(); err != nil {
			b.Errorf("stop postgres: %v", err)
		}
	})
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		b.Fatalf("load rules: %v", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Dossiers = 3500
	items, _, err := simulate.Generate(cfg, cat)
	if err != nil {
		b.Fatalf("Generate: %v", err)
	}
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var events int
			var elapsed time.Duration
			for b.Loop() {
				res, err := runPGPeer(ctx, dsn, cat, items, clients)
				if err != nil {
					b.Fatalf("runPGPeer: %v", err)
				}
				events += res.Events
				elapsed += res.Elapsed
			}
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		})
	}
}

// TestPGSplit checks the peer's split of events among clients: each
// dossier's events on one client in stream order, every event once, and
// the clients' loads within one dossier's events of each other.
func TestPGSplit(t *testing.T) {
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		t.Fatalf("load rules: %v", err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers = 3, 400
	items, _, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	var evs []*workflow.Event
	most := map[string]int{}
	for _, it := range items {
		if it.Event != nil {
			evs = append(evs, it.Event)
			most[it.Event.Dossier]++
		}
	}
	biggest := 0
	for _, n := range most {
		biggest = max(biggest, n)
	}
	for _, clients := range []int{1, 16, 64} {
		parts := pgSplit(evs, clients)
		if len(parts) != clients {
			t.Fatalf("pgSplit(%d clients): %d parts", clients, len(parts))
		}
		owner := map[string]int{}
		got := map[string][]*workflow.Event{}
		total, lo, hi := 0, len(evs), 0
		for c, part := range parts {
			total += len(part)
			lo, hi = min(lo, len(part)), max(hi, len(part))
			for _, e := range part {
				if o, ok := owner[e.Dossier]; ok && o != c {
					t.Errorf("pgSplit(%d clients): dossier %s on clients %d and %d", clients, e.Dossier, o, c)
				}
				owner[e.Dossier] = c
				got[e.Dossier] = append(got[e.Dossier], e)
			}
		}
		want := map[string][]*workflow.Event{}
		for _, e := range evs {
			want[e.Dossier] = append(want[e.Dossier], e)
		}
		for d, w := range want {
			if !slices.Equal(got[d], w) {
				t.Errorf("pgSplit(%d clients): dossier %s's events not all on its client in stream order", clients, d)
			}
		}
		if total != len(evs) {
			t.Errorf("pgSplit(%d clients): %d events, want %d", clients, total, len(evs))
		}
		if hi-lo > biggest {
			t.Errorf("pgSplit(%d clients): clients hold %d to %d events, more apart than a dossier's most (%d)", clients, lo, hi, biggest)
		}
	}
}
