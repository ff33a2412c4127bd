package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestEmitDatesAndEntered emits a receipt with a date-only --due and an
// --entered two working days after its --time, as an officer typing in a
// Wednesday's receipt on Friday would: the appointment "6/10" is due at
// 17:00 that day, and the event is a late entry of 17 working hours
// (Wednesday 09:00–17:00 6 h, Thursday 8 h, Friday 07:00–10:00 3 h).
func TestEmitDatesAndEntered(t *testing.T) {
	dir := t.TempDir()
	in := startServe(t, dir)
	code := "000.00.12.H57-251001-0007"
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"emit", "--nats-url", in.NATSURL, "--source", "tayninh", "--dossier", code,
		"--action", "receive", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-07", "--attach", "input_digitized:don.pdf",
		"--time", "2025-10-01T09:00:00+07:00", "--due", "2025-10-06", "--entered", "2025-10-03T10:00:00+07:00", "-o", "json"},
		noEnv, strings.NewReader(""), &out, &errb)
	if err != nil {
		t.Fatalf("emit: %v\n%s%s", err, out.String(), errb.String())
	}
	var o workflow.Outcome
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatalf("emit -o json printed %q: %v", out.String(), err)
	}
	want := time.Date(2025, 10, 6, 17, 0, 0, 0, workflow.Zone)
	if o.Kind != workflow.OutcomeAccepted || o.Due == nil || !o.Due.Equal(want) {
		t.Fatalf("outcome %s, due %v; want accepted, due %s", o.Kind, o.Due, want)
	}

	in.Stop(t)
	db := testutil.OpenStore(t, filepath.Join(dir, engine.StoreFile))
	defer db.Close()
	irs, _, err := db.Irregularities(context.Background(), workflow.IrregularityQuery{Dossier: code})
	if err != nil {
		t.Fatal(err)
	}
	entered := time.Date(2025, 10, 3, 10, 0, 0, 0, workflow.Zone)
	if len(irs) != 1 || irs[0].Kind != workflow.IrregularLateEntry || irs[0].Delay != 17*time.Hour || !irs[0].Entered.Equal(entered) {
		t.Fatalf("irregularities %+v, want one late entry of 17h entered %s", irs, entered)
	}
}

func TestEmitEnteredInvalid(t *testing.T) {
	for _, tc := range []struct {
		entered, want string
	}{
		{"2025-10-03", `--entered: "2025-10-03" is not an RFC 3339 time`},
		{"2025-10-01T08:59:59+07:00", "--entered: 2025-10-01T08:59:59+07:00 is before --time 2025-10-01T09:00:00+07:00"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"emit", "--nats-url", "nats://127.0.0.1:1", "--source", "tayninh", "--dossier", "000.00.12.H57-251001-0007",
			"--action", "assign", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-07",
			"--time", "2025-10-01T09:00:00+07:00", "--entered", tc.entered}, noEnv, strings.NewReader(""), &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("emit --entered %s = %v, want an error containing %q", tc.entered, err, tc.want)
		}
	}
}
