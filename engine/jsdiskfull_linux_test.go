//go:build linux

package engine_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestJetStreamDiskFull runs an engine with its data directory, the
// embedded JetStream's files and the store, on a small filesystem of its
// own (a tmpfs) and fills it. The embedded server turns JetStream off at
// its first failed write: /readyz must say so (503) instead of staying
// ready while publishers time out; once space is freed, hoso must restart
// JetStream by itself, without a restart of the engine, and every event,
// republished by its sender, must be applied and answered exactly once.
func TestJetStreamDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a filesystem")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting the small filesystem this test fills needs root (CI runs as root)")
	}
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=24m"); err != nil {
		t.Fatalf("mount a 24 MiB tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(disk, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	sc := testutil.NewScenario(200, 2)
	dir := filepath.Join(disk, "data")
	cfg := testutil.Config(dir)
	cfg.MinFreeMiB = 1
	in := testutil.Start(t, cfg)
	_, js := testutil.Connect(t, in.NATSURL)
	third := len(sc.Messages) / 3
	testutil.Publish(t, js, sc.Messages[:third])
	stored := testutil.StoredOf(sc.Messages[:third])
	testutil.WaitOutcomes(t, js, uint64(stored), time.Minute)
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)

	// Fill the disk to its last byte.
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
	f.Close()

	// The one-stop-shop goes on publishing; its publishes fail.
	rest := sc.Messages[third:]
	failed := 0
	for _, m := range rest[:20] {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			failed++
		}
		cancel()
	}
	t.Logf("%d of 20 publishes failed", failed)
	if failed == 0 {
		t.Fatal("every publish succeeded on a full disk: the test did not fill it")
	}
	defer func() {
		if t.Failed() {
			t.Logf("the engine's log:\n%s", in.Logs.String())
		}
	}()
	testutil.WaitReady(t, in.HTTPURL, http.StatusServiceUnavailable)

	// Space comes back: hoso recovers by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.WaitReady(t, in.HTTPURL, http.StatusOK)
	// The sender republishes what was not acknowledged (the same
	// Nats-Msg-Id: what did get in is dropped as a duplicate), then the
	// rest.
	for _, m := range rest {
		if m.Dropped {
			continue
		}
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		if m.MsgID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := js.PublishMsg(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("publish after recovery: %v", err)
		}
	}
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	testutil.ReadOutcomes(t, js, sc.Stored())
	in.Stop(t)
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}
