package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
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

// TestEmitLookup emits the receipt of docs/contract.md's worked example
// with its lookup secret and key: hoso keeps the digest computed apart
// (with openssl and Python's hmac) for the dossier.
func TestEmitLookup(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "lookup.key")
	if err := os.WriteFile(keyFile, []byte("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startServe(t, dir)
	code := "000.00.12.H57-250804-0001"
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"emit", "--nats-url", in.NATSURL, "--source", "tayninh", "--dossier", code,
		"--action", "receive", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-07", "--attach", "input_digitized:don.pdf",
		"--time", "2025-08-04T09:00:00+07:00", "--due", "2025-08-15", "--lookup-secret", "k7m2-x9p4 qr", "--lookup-key", keyFile},
		noEnv, strings.NewReader(""), &out, &errb)
	if err != nil || !strings.HasPrefix(out.String(), "accepted") {
		t.Fatalf("emit = %v\n%s%s", err, out.String(), errb.String())
	}
	in.Stop(t)
	db := testutil.OpenStore(t, filepath.Join(dir, engine.StoreFile))
	defer db.Close()
	d, ok, err := db.Lookup(context.Background(), code)
	const want = "517a0aeae5be370033877fcf1c6dbad84934db0e46c4a1d0a175b6d8d5cdd939"
	if err != nil || !ok || hex.EncodeToString(d.Lookup[:]) != want {
		t.Errorf("the store holds %x, %t, %v; want %s", d.Lookup, ok, err, want)
	}
}

// TestEmitLookupInvalid: a lookup secret without a key, a key without a
// secret, a key file that is missing, short or not hex, a secret too
// short, or a secret with --file are errors before anything is sent.
func TestEmitLookupInvalid(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.key", strings.Repeat("ab", 32)+"\n")
	short := write("short.key", strings.Repeat("ab", 31)+"\n")
	raw := write("raw.key", strings.Repeat("\x01", 32))
	event := write("event.json", `{"id":"x","subject":"000.00.12.H57-251001-0007","source":"/motcua/tayninh"}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lookup-secret", "AB12CD34"}, "--lookup-secret and --lookup-key go together"},
		{[]string{"--lookup-key", good}, "--lookup-secret and --lookup-key go together"},
		{[]string{"--lookup-secret", "AB12CD34", "--lookup-key", filepath.Join(dir, "none.key")}, "none.key: no such file or directory"},
		{[]string{"--lookup-secret", "AB12CD34", "--lookup-key", short}, "31 bytes, want 32 to 64"},
		{[]string{"--lookup-secret", "AB12CD34", "--lookup-key", raw}, "not hex digits on one line"},
		{[]string{"--lookup-secret", "A-B 1", "--lookup-key", good}, "--lookup-secret: lookup: workflow: invalid lookup secret: 3 characters"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"emit", "--nats-url", "nats://127.0.0.1:1", "--source", "tayninh", "--dossier", "000.00.12.H57-251001-0007",
			"--action", "receive", "--procedure", "1.004227", "--agency", "H57", "--actor", "cb-07"}, tc.args...)
		err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("emit %q = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"emit", "--nats-url", "nats://127.0.0.1:1", "--file", event,
		"--lookup-secret", "AB12CD34", "--lookup-key", good}, noEnv, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "put data.lookup in the file") {
		t.Errorf("emit --file --lookup-secret = %v, want an error saying the file is sent as it is", err)
	}
}
