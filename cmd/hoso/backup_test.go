package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
)

// hosoRun runs a hoso command line and returns its output.
func hosoRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// publishPlain publishes the messages in order, synchronously, off the
// test's goroutine; JetStream drops the repeated ones.
func publishPlain(js jetstream.JetStream, msgs []message) error {
	for i, m := range msgs {
		nm := &nats.Msg{Subject: m.subject, Data: m.data, Header: nats.Header{}}
		if m.msgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.msgID)
		}
		ack, err := js.PublishMsg(context.Background(), nm)
		if err != nil {
			return fmt.Errorf("publish message %d: %w", i, err)
		}
		if ack.Duplicate != m.dropped {
			return fmt.Errorf("message %d: duplicate %t, want %t", i, ack.Duplicate, m.dropped)
		}
	}
	return nil
}

var stateHashRE = regexp.MustCompile(`state hash ([0-9a-f]{64})`)

// printedHash returns the state hash a command printed.
func printedHash(t *testing.T, out string) string {
	t.Helper()
	m := stateHashRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no state hash in %q", out)
	}
	return m[1]
}

// TestBackupRestoreRebuild runs the three against real components: a hot
// backup taken while the engine applies events opens and has the state
// hash of a store that applied exactly its applied sequence (rebuilt from
// the stream up to it); restoring it, serve resumes from it and ends
// equal to the live store; a rebuild of the whole stream equals the live
// store.
func TestBackupRestoreRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("applies a stream several times")
	}
	dir := t.TempDir()
	natsURL, js := startNATS(t, filepath.Join(dir, "nats"))
	sc := newScenario(600, 3)
	half := len(sc.messages) / 2
	first := 0
	for _, m := range sc.messages[:half] {
		if !m.dropped {
			first++
		}
	}
	liveDir := filepath.Join(dir, "live")
	in := startServe(t, liveDir, "--nats-url", natsURL, "--batch-max", "16")
	defer in.stop(t)
	publish(t, js, sc.messages[:half])
	waitApplied(t, in, uint64(first))

	// Hot: the backup is taken once the engine has started on the second
	// half, which goes on being published and applied meanwhile.
	pubDone := make(chan error, 1)
	go func() { pubDone <- publishPlain(js, sc.messages[half:]) }()
	waitApplied(t, in, uint64(first)+1)
	backupFile := filepath.Join(dir, "backup.db")
	out, err := hosoRun(t, "backup", "--server", in.httpURL, "-o", backupFile)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	r := struct{ out string }{out}
	fi, err := store.Inspect(context.Background(), backupFile)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	if fi.AppliedSeq <= uint64(first) {
		t.Fatalf("backup applied sequence %d, want more than %d", fi.AppliedSeq, first)
	}
	if got := printedHash(t, r.out); got != fi.StateHash.String() {
		t.Errorf("backup printed state hash %s, the file has %s", got, fi.StateHash)
	}
	t.Logf("backup at sequence %d of %d: %s", fi.AppliedSeq, sc.stored(), strings.TrimSpace(r.out))

	// A store that applied the stream up to exactly the backup's sequence.
	out, err = hosoRun(t, "rebuild", "--nats-url", natsURL, "--data-dir", filepath.Join(dir, "upto"), "--to-seq", pathf("%d", fi.AppliedSeq))
	if err != nil {
		t.Fatalf("rebuild --to-seq: %v\n%s", err, out)
	}
	if got := printedHash(t, out); got != fi.StateHash.String() {
		t.Fatalf("rebuild to sequence %d has state hash %s, the backup %s", fi.AppliedSeq, got, fi.StateHash)
	}

	waitApplied(t, in, uint64(sc.stored()))
	var live web.State
	getJSON(t, in.httpURL, "/api/v1/admin/state", 200, &live)
	if live.AppliedSeq != uint64(sc.stored()) {
		t.Fatalf("live applied sequence %d, want %d", live.AppliedSeq, sc.stored())
	}

	// Restore refuses while serve holds the store.
	if out, err := hosoRun(t, "restore", backupFile, "--data-dir", liveDir); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("restore while serving = %v, want store.ErrLocked\n%s", err, out)
	}

	// A rebuild of the whole stream equals the live store.
	out, err = hosoRun(t, "rebuild", "--nats-url", natsURL, "--data-dir", filepath.Join(dir, "rebuilt"))
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if got := printedHash(t, out); got != live.StateHash {
		t.Fatalf("rebuild has state hash %s, the live store %s", got, live.StateHash)
	}
	t.Log(strings.TrimSpace(out))
	in.stop(t)

	// Restore the backup in place of the live store: serve resumes from the
	// backup's sequence and ends where the live store was.
	out, err = hosoRun(t, "restore", backupFile, "--data-dir", liveDir)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	kept, _ := filepath.Glob(filepath.Join(liveDir, "hoso.db.before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("restore kept %q, want one hoso.db.before-restore-*", kept)
	}
	if fi2, err := store.Inspect(context.Background(), filepath.Join(liveDir, "hoso.db")); err != nil || fi2.StateHash != fi.StateHash {
		t.Fatalf("restored store: %v, %+v, want the backup's state", err, fi2)
	}
	in = startServe(t, liveDir, "--nats-url", natsURL)
	defer in.stop(t)
	waitApplied(t, in, uint64(sc.stored()))
	var resumed web.State
	getJSON(t, in.httpURL, "/api/v1/admin/state", 200, &resumed)
	if resumed != live {
		t.Fatalf("after restore and resume, state %+v, want the live store's %+v", resumed, live)
	}
	in.stop(t)
	checkStore(t, filepath.Join(liveDir, "hoso.db"), sc)
}

// BenchmarkRebuild replays a pre-filled stream into a fresh store as
// `hoso rebuild` does (ordered consumer, batches of up to 8192 events, one
// fsync at the end), timed from the first message fetched to the last
// committed. Issue 6 wants 150,000 events/s.
//
//	go test ./cmd/hoso -run '^$' -bench Rebuild -benchtime 3x
func BenchmarkRebuild(b *testing.B) {
	sc := newScenario(5000, 8)
	dir := b.TempDir()
	_, js := startNATS(b, filepath.Join(dir, "nats"))
	publish(b, js, sc.messages)
	st, err := js.Stream(context.Background(), events.EventsStream)
	if err != nil {
		b.Fatal(err)
	}
	cat, err := loadCatalog("")
	if err != nil {
		b.Fatal(err)
	}
	var applied, took float64
	i := 0
	for b.Loop() {
		i++
		db, err := store.Open(filepath.Join(dir, pathf("rebuild-%d.db", i)), store.Options{Catalog: cat, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		n, err := replay(context.Background(), st, db, uint64(sc.stored()), 8192)
		took += time.Since(start).Seconds()
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		applied += float64(n)
	}
	b.ReportMetric(applied/took, "events/s")
}

// TestRestoreRefusesBadBackups: a file that is not a store, or a store of
// an older schema, is refused and the store in place is left untouched;
// a good backup restores into an empty directory.
func TestRestoreRefusesBadBackups(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := store.Open(good, store.Options{Catalog: mustCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a store "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.db")
	if err := copyFile(old, good); err != nil {
		t.Fatal(err)
	}
	b, err := bbolt.Open(old, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1))
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	liveDir := filepath.Join(dir, "live")
	if out, err := hosoRun(t, "restore", good, "--data-dir", liveDir); err != nil {
		t.Fatalf("restore into an empty directory: %v\n%s", err, out)
	}
	before, err := os.ReadFile(filepath.Join(liveDir, "hoso.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file string
		want error
	}{
		{garbage, nil},
		{old, store.ErrSchemaOld},
		{filepath.Join(dir, "missing.db"), os.ErrNotExist},
	} {
		out, err := hosoRun(t, "restore", tt.file, "--data-dir", liveDir)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("restore %s = %v, want an error (%v)\n%s", filepath.Base(tt.file), err, tt.want, out)
		}
	}
	after, err := os.ReadFile(filepath.Join(liveDir, "hoso.db"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("a refused restore changed the store in place (%v)", err)
	}
	if kept, _ := filepath.Glob(filepath.Join(liveDir, "hoso.db.*")); len(kept) != 0 {
		t.Errorf("a refused restore left %q", kept)
	}
}

// TestRebuildEmbedded: with no --nats-url, rebuild reads the stream an
// embedded deployment keeps under its data directory, with serve stopped,
// and gets the live store's state hash; --replace puts the result in place
// and serve starts on it.
func TestRebuildEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("applies a stream twice")
	}
	dir := t.TempDir()
	sc := newScenario(100, 2)
	in := startServe(t, dir)
	_, js := connect(t, in.natsURL)
	publish(t, js, sc.messages)
	waitOutcomes(t, js, uint64(sc.stored()), time.Minute)
	var live struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	getJSON(t, in.httpURL, "/api/v1/admin/state", 200, &live)
	in.stop(t)

	out, err := hosoRun(t, "rebuild", "--data-dir", dir, "--replace")
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if !strings.Contains(out, "state hash "+live.StateHash) || !strings.Contains(out, "replaced ") {
		t.Fatalf("rebuild printed %q, want the live state hash %s and the replacement", out, live.StateHash)
	}
	checkStore(t, filepath.Join(dir, "hoso.db"), sc)
	again := startServe(t, dir)
	var after struct {
		StateHash string `json:"state_hash"`
	}
	getJSON(t, again.httpURL, "/api/v1/admin/state", 200, &after)
	if after.StateHash != live.StateHash {
		t.Fatalf("serve on the rebuilt store has state hash %s, want %s", after.StateHash, live.StateHash)
	}
}
