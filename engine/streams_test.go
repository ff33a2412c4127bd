package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestEngineKeepsTheOperatorsStreams: an engine started on streams set up
// otherwise than its configuration says keeps them as they are, logs and
// counts the differences; asked to (UpdateStreams), it sets its own.
func TestEngineKeepsTheOperatorsStreams(t *testing.T) {
	dir := t.TempDir()
	natsURL, js := testutil.StartNATS(t, filepath.Join(dir, "nats"))
	maxPerSubject := func() int64 {
		t.Helper()
		st, err := js.Stream(context.Background(), events.EventsStream)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.MaxMsgsPerSubject
	}
	cfg := testutil.Config(filepath.Join(dir, "data"))
	cfg.NATSURL = natsURL
	cfg.MaxEventsPerDossier = 5

	in := testutil.Start(t, cfg)
	if got := maxPerSubject(); got != events.DefaultMaxEventsPerDossier {
		t.Errorf("the engine changed the stream's per-subject limit to %d without being asked", got)
	}
	if m := testutil.Scrape(t, in.HTTPURL); m["hoso_stream_config_differences"] != 1 {
		t.Errorf("hoso_stream_config_differences = %v, want 1", m["hoso_stream_config_differences"])
	}
	if logs := in.Logs.String(); !strings.Contains(logs, "stream configuration differs from hoso's; kept") ||
		!strings.Contains(logs, "max_msgs_per_subject 10000 (hoso sets 5)") {
		t.Errorf("the log does not name the difference:\n%s", logs)
	}
	in.Stop(t)

	cfg.UpdateStreams = true
	in = testutil.Start(t, cfg)
	if got := maxPerSubject(); got != 5 {
		t.Errorf("with UpdateStreams the per-subject limit is %d, want 5", got)
	}
	if m := testutil.Scrape(t, in.HTTPURL); m["hoso_stream_config_differences"] != 0 {
		t.Errorf("hoso_stream_config_differences = %v after updating, want 0", m["hoso_stream_config_differences"])
	}
	if !strings.Contains(in.Logs.String(), "stream configuration set to hoso's") {
		t.Errorf("the log does not say the stream was set:\n%s", in.Logs.String())
	}
}
