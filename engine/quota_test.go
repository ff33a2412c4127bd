package engine_test

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
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
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
	cfg := testutil.Config(t.TempDir())
	cfg.NATSUsers = path
	cfg.SourceQuotaMiB = 1
	in := testutil.Start(t, cfg)
	as := func(user, pass, source string) *nats.Conn {
		nc, err := nats.Connect(in.NATSURL, nats.UserInfo(user, pass), nats.CustomInboxPrefix(events.InboxPrefix(source)),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	flood, _ := jetstream.New(as("tayninh-dvc", "tayninh-secret-1", "tayninh"))
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
	ev := &workflow.Event{ID: "hanoi-submit-1", SourceURI: "/hoso/emit/hanoi", Source: "hanoi", Dossier: "000.00.12.H57-251001-0002",
		Action: "submit", Procedure: "1.004227", Agency: "H57", Actor: "cb-01", Time: time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)}
	o, err := testutil.Emit(as("hanoi-dvc", "hanoi-secret-22", "hanoi"), ev, 10*time.Second)
	if err != nil || o.Kind != workflow.OutcomeAccepted && o.Kind != workflow.OutcomeCorrection {
		t.Fatalf("the other source beside the flood: %v %s (%s) %s", err, o.Kind, o.Reason, o.MessageEN)
	}
	if !strings.Contains(in.Logs.String(), "source over its quota") {
		t.Error("the log does not say the source went over its quota")
	}
}
