package natsserver_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
)

// TestQuota: one source floods the log with junk, as the attacker did with
// one credential. Past its quota of the window the server refuses its
// publishes, the other source goes on, and the next window lets it
// publish again; a reload of the users file meanwhile keeps the block.
func TestQuota(t *testing.T) {
	srv, users, engine, ejs := startUsersServer(t)
	setup(t, ejs)

	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 10, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var blocks []string
	q := natsserver.NewQuota(srv, engine, natsserver.QuotaConfig{MaxBytes: 20 << 10, Window: time.Hour, Logger: testLogger(t),
		Now: clock, Tick: 10 * time.Millisecond,
		OnBlock: func(source string, until time.Time) {
			mu.Lock()
			blocks = append(blocks, fmt.Sprintf("%s until %s", source, until.Format("15:04")))
			mu.Unlock()
		}})
	run(t, q.Run)
	if err := engine.Flush(); err != nil {
		t.Fatal(err)
	}

	connect := func(user, password, source string) jetstream.JetStream {
		nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(user, password), nats.CustomInboxPrefix(events.InboxPrefix(source)),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return js
	}
	tay := connect("tayninh-dvc", "tayninh-secret-1", "tayninh")
	hanoi := connect("hanoi-dvc", "hanoi-secret-22", "hanoi")
	junk := bytes.Repeat([]byte("x"), 1000)
	pub := func(js jetstream.JetStream, source string, i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := js.Publish(ctx, fmt.Sprintf("hoso.events.%s.D%d", source, i), junk)
		return err
	}
	accepted := 0
	for i := range 200 {
		if pub(tay, "tayninh", i) != nil {
			break
		}
		accepted++
	}
	if accepted == 200 {
		t.Fatal("200 KB of junk from one source were all taken with a quota of 20 KB")
	}
	t.Logf("the flooding source got %d of its 1 KB events in before its quota stopped it", accepted)
	// The quota is checked on a tick: on a loaded machine a few ticks'
	// worth of publishes get in past the 20 KB before the block.
	if accepted < 19 || accepted > 100 {
		t.Errorf("the flooding source got %d events in, want its 20 KB and at most a few ticks' more", accepted)
	}
	if err := pub(hanoi, "hanoi", 0); err != nil {
		t.Errorf("the other source, beside the flood: %v", err)
	}
	// A reload of the users file keeps the block.
	if err := srv.SetUsers(users); err != nil {
		t.Fatal(err)
	}
	if err := pub(tay, "tayninh", 500); err == nil {
		t.Error("the flooding source published again after a reload of the users")
	}
	str, err := ejs.Stream(t.Context(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := str.CachedInfo().State.Msgs; n != uint64(accepted+1) {
		t.Errorf("the log holds %d events, want the %d taken", n, accepted+1)
	}

	// The next window.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	waitFor(t, 5*time.Second, "the flooding source unblocked", func() bool { return pub(tay, "tayninh", 600) == nil })
	mu.Lock()
	defer mu.Unlock()
	if want := "[tayninh until 10:00 tayninh until 00:00]"; fmt.Sprint(blocks) != want {
		t.Errorf("blocks reported = %q, want tayninh blocked until 10:00, then unblocked (a zero time)", blocks)
	}
}
