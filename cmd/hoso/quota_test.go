package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// TestServeSourceQuota floods `hoso serve --nats-users` with junk from one
// source's credential, as the attacker did: past --source-quota-mib the
// embedded server refuses that source's events, hoso_sources_blocked
// says so, and another source's events are still taken and applied.
func TestServeSourceQuota(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nats-users.yaml")
	users := "users:\n  - name: tayninh-dvc\n    password: tayninh-secret-1\n    source: tayninh\n" +
		"  - name: hanoi-dvc\n    password: hanoi-secret-22\n    source: hanoi\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startServe(t, t.TempDir(), "--nats-users", path, "--source-quota-mib", "1")
	as := func(user, pass, source string) jetstream.JetStream {
		nc, err := nats.Connect(in.NATSURL, nats.UserInfo(user, pass), nats.CustomInboxPrefix(events.InboxPrefix(source)),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return js
	}
	flood := as("tayninh-dvc", "tayninh-secret-1", "tayninh")
	junk := bytes.Repeat([]byte("j"), 8<<10)
	taken := 0
	for i := range 400 { // 3.2 MiB
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := flood.Publish(ctx, fmt.Sprintf("hoso.events.tayninh.junk-%d", i), junk)
		cancel()
		if err != nil {
			break
		}
		taken++
	}
	if taken == 400 {
		t.Fatal("3.2 MiB of junk from one source were all taken with a quota of 1 MiB an hour")
	}
	t.Logf("%d of the flood's 8 KiB messages were taken", taken)
	if n := metricValue(t, in.HTTPURL, "hoso_sources_blocked"); n != 1 {
		t.Errorf("hoso_sources_blocked = %v, want 1", n)
	}
	var out, errb bytes.Buffer
	url := strings.Replace(in.NATSURL, "nats://", "nats://hanoi-dvc:hanoi-secret-22@", 1)
	if err := run(context.Background(), []string{"emit", "--nats-url", url, "--source", "hanoi", "--dossier", "000.00.12.H57-251001-0002",
		"--action", "submit", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-01",
		"--time", "2025-10-01T09:00:00+07:00", "--timeout", "10s"}, noEnv, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("the other source beside the flood: %v\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(in.Logs.String(), "source over its quota") {
		t.Error("the log does not say the source went over its quota")
	}
}
