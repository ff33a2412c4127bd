package events_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// testKey returns the ed25519 key of a fixed seed.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func testCheckpoint(seq uint64) workflow.Checkpoint {
	return workflow.Checkpoint{
		Seq: seq, Schema: 6, Dossiers: 3,
		StateHash:        sha256.Sum256([]byte("state")),
		HeadsRoot:        sha256.Sum256([]byte("heads")),
		RejectionsDigest: sha256.Sum256([]byte("rejections")),
	}
}

var checkpointTime = time.Date(2026, 12, 7, 21, 0, 0, 500, workflow.Zone)

func TestCheckpointSignedBytes(t *testing.T) {
	key := testKey(1)
	m := events.SignCheckpoint(testCheckpoint(42), checkpointTime, key)
	want := "hoso-checkpoint-v2\n" +
		"seq 42\n" +
		"schema 6\n" +
		"time 2026-12-07T14:00:00Z\n" +
		"state_hash " + hashHex("state") + "\n" +
		"dossiers 3\n" +
		"heads_root " + hashHex("heads") + "\n" +
		"rejections_digest " + hashHex("rejections") + "\n" +
		"key_id " + events.KeyID(key.Public().(ed25519.PublicKey)) + "\n"
	if got := string(m.SignedBytes()); got != want {
		t.Errorf("SignedBytes() =\n%s\nwant\n%s", got, want)
	}
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	if id := events.KeyID(key.Public().(ed25519.PublicKey)); id != hex.EncodeToString(sum[:8]) || len(id) != 16 {
		t.Errorf("KeyID = %q, want the first 8 bytes of SHA-256 of the key in hex", id)
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestCheckpointVerifiesFromItsJSON: a third party rebuilds the signed
// text from the JSON fields as they are and checks it with ed25519 alone.
func TestCheckpointVerifiesFromItsJSON(t *testing.T) {
	key := testKey(2)
	m := events.SignCheckpoint(testCheckpoint(7), checkpointTime, key)
	data, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	field := func(name string) string { return fmt.Sprint(f[name]) }
	text := "hoso-checkpoint-v2\nseq " + field("seq") + "\nschema " + field("schema") + "\ntime " + field("time") + "\nstate_hash " + field("state_hash") +
		"\ndossiers " + field("dossiers") + "\nheads_root " + field("heads_root") + "\nrejections_digest " + field("rejections_digest") +
		"\nkey_id " + field("key_id") + "\n"
	sig, err := base64.StdEncoding.DecodeString(field("signature"))
	if err != nil {
		t.Fatalf("signature %q is not standard base64: %v", field("signature"), err)
	}
	if field("version") != "2" || field("schema") != "6" || !ed25519.Verify(key.Public().(ed25519.PublicKey), []byte(text), sig) {
		t.Errorf("the JSON %s does not verify as documented over\n%s", data, text)
	}
}

// TestCheckpointVersion2RoundTrip: a checkpoint read back from its JSON
// is the one signed, schema included, and verifies.
func TestCheckpointVersion2RoundTrip(t *testing.T) {
	key := testKey(6)
	m := events.SignCheckpoint(testCheckpoint(42), checkpointTime, key)
	data, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var back events.CheckpointMessage
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("checkpoint read back from %s (-signed +read):\n%s", data, diff)
	}
	if back.Version != 2 || back.Schema != 6 {
		t.Errorf("read back version %d schema %d, want version 2 schema 6", back.Version, back.Schema)
	}
	if err := back.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("Verify of the checkpoint read back = %v", err)
	}
	if got := back.Checkpoint(); got != testCheckpoint(42) {
		t.Errorf("Checkpoint() = %+v, want %+v", got, testCheckpoint(42))
	}
}

// TestCheckpointVersion1Verifies: a checkpoint as an engine of store
// schema 5 or older published it (version 1: eight lines, no schema)
// still verifies, and reads as stating no schema; a schema added to its
// JSON is not what was signed.
func TestCheckpointVersion1Verifies(t *testing.T) {
	key := testKey(7)
	pub := key.Public().(ed25519.PublicKey)
	id := events.KeyID(pub)
	text := "hoso-checkpoint-v1\n" +
		"seq 41\n" +
		"time 2026-12-07T14:00:00Z\n" +
		"state_hash " + hashHex("state") + "\n" +
		"dossiers 3\n" +
		"heads_root " + hashHex("heads") + "\n" +
		"rejections_digest " + hashHex("rejections") + "\n" +
		"key_id " + id + "\n"
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(text)))
	data := `{"version":1,"seq":41,"time":"2026-12-07T14:00:00Z","state_hash":"` + hashHex("state") + `","dossiers":3,` +
		`"heads_root":"` + hashHex("heads") + `","rejections_digest":"` + hashHex("rejections") + `","key_id":"` + id + `","signature":"` + sig + `"}`
	var m events.CheckpointMessage
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	if got := string(m.SignedBytes()); got != text {
		t.Errorf("SignedBytes() of version 1 =\n%s\nwant\n%s", got, text)
	}
	if err := m.Verify(pub); err != nil {
		t.Errorf("Verify of a version 1 checkpoint = %v", err)
	}
	want := testCheckpoint(41)
	want.Schema = 0
	if m.Schema != 0 || m.Checkpoint() != want {
		t.Errorf("version 1 read as schema %d, %+v; want no schema, %+v", m.Schema, m.Checkpoint(), want)
	}
	out, err := json.Marshal(&m)
	if err != nil || bytes.Contains(out, []byte(`"schema"`)) {
		t.Errorf("version 1 written back = %s, %v; want no schema field", out, err)
	}

	var stated events.CheckpointMessage
	if err := json.Unmarshal([]byte(strings.Replace(data, `"seq":41,`, `"seq":41,"schema":6,`, 1)), &stated); err != nil {
		t.Fatal(err)
	}
	if err := stated.Verify(pub); !errors.Is(err, events.ErrCheckpointSignature) {
		t.Errorf("Verify of a version 1 checkpoint given schema 6 = %v, want %v", err, events.ErrCheckpointSignature)
	}
}

func TestCheckpointVerify(t *testing.T) {
	key, other := testKey(3), testKey(4)
	pub := key.Public().(ed25519.PublicKey)
	signed := events.SignCheckpoint(testCheckpoint(9), checkpointTime, key)
	if err := signed.Verify(pub); err != nil {
		t.Fatalf("Verify of a signed checkpoint = %v", err)
	}
	tests := []struct {
		name string
		edit func(m *events.CheckpointMessage)
		pub  ed25519.PublicKey
		want error
	}{
		{"signature byte flipped", func(m *events.CheckpointMessage) { m.Signature[10] ^= 1 }, pub, events.ErrCheckpointSignature},
		{"sequence changed", func(m *events.CheckpointMessage) { m.Seq++ }, pub, events.ErrCheckpointSignature},
		{"root changed", func(m *events.CheckpointMessage) { m.HeadsRoot[0] ^= 1 }, pub, events.ErrCheckpointSignature},
		{"dossiers changed", func(m *events.CheckpointMessage) { m.Dossiers-- }, pub, events.ErrCheckpointSignature},
		{"time changed", func(m *events.CheckpointMessage) { m.Time = m.Time.Add(time.Second) }, pub, events.ErrCheckpointSignature},
		{"signature truncated", func(m *events.CheckpointMessage) { m.Signature = m.Signature[:63] }, pub, events.ErrCheckpointSignature},
		{"verified with another key", func(*events.CheckpointMessage) {}, other.Public().(ed25519.PublicKey), events.ErrCheckpointKey},
		{"signed by another key naming this one", func(m *events.CheckpointMessage) {
			*m = events.SignCheckpoint(testCheckpoint(9), checkpointTime, other)
			m.KeyID = events.KeyID(pub)
		}, pub, events.ErrCheckpointSignature},
		{"schema changed", func(m *events.CheckpointMessage) { m.Schema = 5 }, pub, events.ErrCheckpointSignature},
		// Read as version 1, the text has no schema line: what was signed
		// is not that text.
		{"version changed to 1", func(m *events.CheckpointMessage) { m.Version = 1 }, pub, events.ErrCheckpointSignature},
		{"version 1 re-signed with a schema", func(m *events.CheckpointMessage) {
			m.Version = 1
			m.Signature = ed25519.Sign(key, m.SignedBytes())
		}, pub, events.ErrCheckpointSignature},
		{"version 2 signed without a schema", func(m *events.CheckpointMessage) {
			m.Schema = 0
			m.Signature = ed25519.Sign(key, m.SignedBytes())
		}, pub, events.ErrCheckpointVersion},
		{"unknown version", func(m *events.CheckpointMessage) { m.Version = 3 }, pub, events.ErrCheckpointVersion},
		{"no version", func(m *events.CheckpointMessage) { m.Version = 0 }, pub, events.ErrCheckpointVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signed
			m.Signature = append([]byte(nil), signed.Signature...)
			tt.edit(&m)
			if err := m.Verify(tt.pub); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// fixedSource is a store whose checkpoint the test sets.
type fixedSource struct {
	mu sync.Mutex
	cp workflow.Checkpoint
}

func (s *fixedSource) Checkpoint(context.Context) (workflow.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, nil
}

func (s *fixedSource) set(seq uint64) {
	s.mu.Lock()
	s.cp = testCheckpoint(seq)
	s.mu.Unlock()
}

// readAll returns the checkpoints of HOSO_CHECKPOINTS.
func readAll(t *testing.T, js jetstream.JetStream, latest bool) []events.CheckpointMessage {
	t.Helper()
	var out []events.CheckpointMessage
	err := events.ReadCheckpoints(t.Context(), js, latest, func(uint64) {}, func(_ uint64, m *events.CheckpointMessage, err error) error {
		if err != nil {
			return err
		}
		out = append(out, *m)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadCheckpoints = %v", err)
	}
	return out
}

func seqsOf(ms []events.CheckpointMessage) []uint64 {
	var out []uint64
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func TestSetupCheckpoints(t *testing.T) {
	_, _, js := startJS(t)
	for range 2 { // idempotent
		if err := events.SetupCheckpoints(t.Context(), js, events.StreamConfig{}); err != nil {
			t.Fatalf("SetupCheckpoints = %v", err)
		}
	}
	s, err := js.Stream(t.Context(), events.CheckpointsStream)
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if diff := cmp.Diff([]string{"hoso.checkpoints.>"}, c.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if c.Storage != jetstream.FileStorage || c.Retention != jetstream.LimitsPolicy || c.MaxAge != 0 || c.Duplicates != 24*time.Hour || c.Replicas != 1 {
		t.Errorf("HOSO_CHECKPOINTS config = %+v; want file storage, limits, no age limit, 24h duplicates, 1 replica", c)
	}
}

func TestCheckpointPublisher(t *testing.T) {
	_, _, js := startJS(t)
	ctx := t.Context()
	if err := events.SetupCheckpoints(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	key := testKey(5)
	pub := key.Public().(ed25519.PublicKey)
	src := &fixedSource{}
	now := func() time.Time { return checkpointTime }
	p := events.NewCheckpointPublisher(js, src, events.CheckpointConfig{Key: key, Interval: time.Hour, Now: now, Logger: testLogger(t)})

	if ok, err := p.Publish(ctx); ok || err != nil {
		t.Errorf("Publish with nothing applied = %v, %v; want nothing published", ok, err)
	}
	src.set(5)
	if ok, err := p.Publish(ctx); !ok || err != nil {
		t.Fatalf("Publish at 5 = %v, %v", ok, err)
	}
	if ok, err := p.Publish(ctx); ok || err != nil {
		t.Errorf("Publish at 5 again = %v, %v; want nothing published", ok, err)
	}
	got := readAll(t, js, false)
	if len(got) != 1 || got[0].Verify(pub) != nil || got[0].Checkpoint() != testCheckpoint(5) {
		t.Fatalf("checkpoints = %+v; want the one of 5, signed", got)
	}
	s, err := js.Stream(ctx, events.CheckpointsStream)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.GetMsg(ctx, 1)
	if err != nil || raw.Subject != "hoso.checkpoints.hoso" || raw.Header.Get(jetstream.MsgIDHeader) != "checkpoint-5-schema-6" {
		t.Errorf("message 1 = %+v, %v; want on hoso.checkpoints.hoso with Nats-Msg-Id checkpoint-5-schema-6", raw, err)
	}

	// Another leader (a replica that took over) publishing the same
	// sequence is deduplicated by the stream.
	b := events.NewCheckpointPublisher(js, src, events.CheckpointConfig{Key: key, Interval: time.Hour, Replica: "b", Now: now})
	if _, err := b.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, js, false); len(got) != 1 {
		t.Errorf("after a second leader published 5: %v, want one checkpoint", seqsOf(got))
	}
	src.set(6)
	if ok, err := b.Publish(ctx); !ok || err != nil {
		t.Fatalf("Publish at 6 by replica b = %v, %v", ok, err)
	}
	if raw, err := s.GetMsg(ctx, 2); err != nil || raw.Subject != "hoso.checkpoints.b" {
		t.Errorf("message 2 = %+v, %v; want on hoso.checkpoints.b", raw, err)
	}

	// Run: a restarted publisher finds the last checkpoint of its subject
	// (6, on b) and publishes on each tick only when the sequence moved,
	// and once more when it stops.
	r := events.NewCheckpointPublisher(js, src, events.CheckpointConfig{Key: key, Interval: 10 * time.Millisecond, Replica: "b", Now: now, Logger: testLogger(t)})
	stop := run(t, r.Run)
	src.set(8)
	waitFor(t, 10*time.Second, "the checkpoint of 8", func() bool {
		got := readAll(t, js, true)
		return len(got) == 1 && got[0].Seq == 8
	})
	src.set(9)
	stop()
	if diff := cmp.Diff([]uint64{5, 6, 8, 9}, seqsOf(readAll(t, js, false))); diff != "" {
		t.Errorf("checkpoints after Run (-want +got):\n%s", diff)
	}
	stop = run(t, r.Run) // restarted: 9 is in the stream already
	stop()
	if got := seqsOf(readAll(t, js, false)); len(got) != 4 {
		t.Errorf("checkpoints after a restart with nothing new = %v, want 4", got)
	}
	if got := readAll(t, js, true); len(got) != 1 || got[0].Seq != 9 {
		t.Errorf("latest checkpoint = %v, want 9", seqsOf(got))
	}
}

// TestCheckpointPublisherAfterUpgrade: after the store is rebuilt under
// a new schema, at the sequence the last checkpoint (version 1, published
// by the old engine with the Nats-Msg-Id "checkpoint-9") signs, the
// publisher publishes the checkpoint of the new schema though the
// sequence did not move, and the stream keeps it beside the old one; once
// it is there, a restarted publisher publishes no other.
func TestCheckpointPublisherAfterUpgrade(t *testing.T) {
	_, _, js := startJS(t)
	ctx := t.Context()
	if err := events.SetupCheckpoints(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	key := testKey(8)
	pub := key.Public().(ed25519.PublicKey)
	old := events.CheckpointMessage{Version: 1, Seq: 9, Time: checkpointTime.UTC().Truncate(time.Second), Dossiers: 3, KeyID: events.KeyID(pub)}
	old.Signature = ed25519.Sign(key, old.SignedBytes())
	data, err := json.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: events.CheckpointSubject(""), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, "checkpoint-9")
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	src := &fixedSource{}
	src.set(9) // schema 6
	now := func() time.Time { return checkpointTime }
	// Run reads the last checkpoint before its first tick: the ticks
	// publish only if the new schema counts as new.
	p := events.NewCheckpointPublisher(js, src, events.CheckpointConfig{Key: key, Interval: 10 * time.Millisecond, Now: now, Logger: testLogger(t)})
	stop := run(t, p.Run)
	waitFor(t, 10*time.Second, "the checkpoint of schema 6 at 9", func() bool { return len(readAll(t, js, false)) == 2 })
	stop()
	got := readAll(t, js, false)
	if len(got) != 2 || got[1].Seq != 9 || got[1].Version != 2 || got[1].Schema != 6 || got[1].Verify(pub) != nil {
		t.Fatalf("checkpoints after the upgrade = %+v; want the old one and one of schema 6 at 9", got)
	}
	p = events.NewCheckpointPublisher(js, src, events.CheckpointConfig{Key: key, Interval: time.Hour, Now: now, Logger: testLogger(t)})
	stop = run(t, p.Run)
	stop()
	if got := readAll(t, js, false); len(got) != 2 {
		t.Errorf("checkpoints after a restart with nothing new = %d, want 2", len(got))
	}
}

// TestCheckpointDifferences: each field of a checkpoint is compared, the state
// hash only when the store recomputed it (at its own sequence).
func TestCheckpointDifferences(t *testing.T) {
	cp := workflow.Checkpoint{Seq: 7, Schema: 6, Dossiers: 2}
	for i := range cp.HeadsRoot {
		cp.StateHash[i], cp.HeadsRoot[i], cp.RejectionsDigest[i] = 1, 2, 3
	}
	m := events.CheckpointMessage{Version: 2, Seq: cp.Seq, Schema: cp.Schema, StateHash: cp.StateHash, Dossiers: cp.Dossiers, HeadsRoot: cp.HeadsRoot, RejectionsDigest: cp.RejectionsDigest}
	fields := func(got workflow.Checkpoint) []string {
		var out []string
		for _, p := range m.Differences(got) {
			out = append(out, p.Field)
		}
		return out
	}
	if got := fields(cp); got != nil {
		t.Errorf("Differences of equal checkpoints = %v", got)
	}
	tests := []struct {
		edit func(c *workflow.Checkpoint)
		want string
	}{
		{func(c *workflow.Checkpoint) { c.Seq++ }, "seq"},
		{func(c *workflow.Checkpoint) { c.Schema = 7 }, "schema"},
		{func(c *workflow.Checkpoint) { c.HeadsRoot[5] ^= 1 }, "heads_root"},
		{func(c *workflow.Checkpoint) { c.Dossiers++ }, "dossiers"},
		{func(c *workflow.Checkpoint) { c.RejectionsDigest[0] ^= 1 }, "rejections_digest"},
		{func(c *workflow.Checkpoint) { c.StateHash[31] ^= 1 }, "state_hash"},
		{func(c *workflow.Checkpoint) { c.StateHash = workflow.Hash{} }, ""}, // not recomputed: not compared
	}
	for _, tt := range tests {
		got := cp
		tt.edit(&got)
		if f := fields(got); strings.Join(f, ",") != tt.want {
			t.Errorf("Differences with %s changed = %v", tt.want, f)
		}
	}
}
