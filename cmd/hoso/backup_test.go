package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
	"github.com/hoso-vn/hoso/workflow"
)

// hosoRun runs a hoso command line and returns its output.
func hosoRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut testutil.SyncBuffer
	err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// publishPlain publishes the messages in order, synchronously, off the
// test's goroutine; JetStream drops the repeated ones.
func publishPlain(js jetstream.JetStream, msgs []testutil.Message) error {
	for i, m := range msgs {
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		if m.MsgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		ack, err := js.PublishMsg(context.Background(), nm)
		if err != nil {
			return fmt.Errorf("publish message %d: %w", i, err)
		}
		if ack.Duplicate != m.Dropped {
			return fmt.Errorf("message %d: duplicate %t, want %t", i, ack.Duplicate, m.Dropped)
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
	natsURL, js := testutil.StartNATS(t, filepath.Join(dir, "nats"))
	sc := testutil.NewScenario(600, 3)
	half := len(sc.Messages) / 2
	first := 0
	for _, m := range sc.Messages[:half] {
		if !m.Dropped {
			first++
		}
	}
	liveDir := filepath.Join(dir, "live")
	in := startServe(t, liveDir, "--nats-url", natsURL, "--batch-max", "16")
	defer in.Stop(t)
	testutil.Publish(t, js, sc.Messages[:half])
	testutil.WaitApplied(t, in, uint64(first))

	// Hot: the backup is taken once the engine has started on the second
	// half, which goes on being published and applied meanwhile.
	pubDone := make(chan error, 1)
	go func() { pubDone <- publishPlain(js, sc.Messages[half:]) }()
	testutil.WaitApplied(t, in, uint64(first)+1)
	backupFile := filepath.Join(dir, "backup.db")
	out, err := hosoRun(t, "backup", "--server", in.HTTPURL, "-o", backupFile)
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
	t.Logf("backup at sequence %d of %d: %s", fi.AppliedSeq, sc.Stored(), strings.TrimSpace(r.out))

	// A store that applied the stream up to exactly the backup's sequence.
	out, err = hosoRun(t, "rebuild", "--nats-url", natsURL, "--data-dir", filepath.Join(dir, "upto"), "--to-seq", testutil.Pathf("%d", fi.AppliedSeq))
	if err != nil {
		t.Fatalf("rebuild --to-seq: %v\n%s", err, out)
	}
	if got := printedHash(t, out); got != fi.StateHash.String() {
		t.Fatalf("rebuild to sequence %d has state hash %s, the backup %s", fi.AppliedSeq, got, fi.StateHash)
	}

	testutil.WaitApplied(t, in, uint64(sc.Stored()))
	var live api.EngineState
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &live)
	if live.AppliedSeq != uint64(sc.Stored()) {
		t.Fatalf("live applied sequence %d, want %d", live.AppliedSeq, sc.Stored())
	}

	// Restore refuses while serve holds the store.
	if out, err := hosoRun(t, "restore", backupFile, "--data-dir", liveDir); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("restore while serving = %v, want store.ErrLocked\n%s", err, out)
	}

	// A rebuild of the whole stream equals the live store, and says how
	// far it has come on stderr.
	var rebuildOut, rebuildErr bytes.Buffer
	err = run(context.Background(), []string{"rebuild", "--nats-url", natsURL, "--data-dir", filepath.Join(dir, "rebuilt")},
		noEnv, strings.NewReader(""), &rebuildOut, &rebuildErr)
	out = rebuildOut.String()
	if err != nil {
		t.Fatalf("rebuild: %v\n%s%s", err, out, rebuildErr.String())
	}
	if m := regexp.MustCompile(`(?m)^rebuild: (\d+)/(\d+) stream sequences \(100%\)\n\z`).FindStringSubmatch(rebuildErr.String()); m == nil || m[1] != m[2] || m[1] != strconv.FormatUint(live.AppliedSeq, 10) {
		t.Errorf("rebuild's progress on stderr:\n%s\nwant it to end with %d/%d stream sequences (100%%)", rebuildErr.String(), live.AppliedSeq, live.AppliedSeq)
	}
	if got := printedHash(t, out); got != live.StateHash {
		t.Fatalf("rebuild has state hash %s, the live store %s", got, live.StateHash)
	}
	t.Log(strings.TrimSpace(out))
	in.Stop(t)

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
	defer in.Stop(t)
	testutil.WaitApplied(t, in, uint64(sc.Stored()))
	var resumed api.EngineState
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &resumed)
	if resumed != live {
		t.Fatalf("after restore and resume, state %+v, want the live store's %+v", resumed, live)
	}
	in.Stop(t)
	testutil.CheckStore(t, filepath.Join(liveDir, "hoso.db"), sc)
}

// TestRestoreRefusesBadBackups: a file that is not a store, or a store of
// an older schema, is refused and the store in place is left untouched;
// a good backup restores into an empty directory.
func TestRestoreRefusesBadBackups(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := store.Open(good, store.Options{Catalog: testutil.Catalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a store "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.db")
	if data, err := os.ReadFile(good); err != nil || os.WriteFile(old, data, 0o600) != nil {
		t.Fatalf("copy %s: %v", good, err)
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
	before := restoreInto(t, good, liveDir)
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
	sc := testutil.NewScenario(100, 2)
	in := startServe(t, dir)
	_, js := testutil.Connect(t, in.NATSURL)
	testutil.Publish(t, js, sc.Messages)
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	var live struct {
		AppliedSeq uint64 `json:"applied_seq"`
		StateHash  string `json:"state_hash"`
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/admin/state", 200, &live)
	in.Stop(t)

	out, err := hosoRun(t, "rebuild", "--data-dir", dir, "--replace")
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	if !strings.Contains(out, "state hash "+live.StateHash) || !strings.Contains(out, "replaced ") {
		t.Fatalf("rebuild printed %q, want the live state hash %s and the replacement", out, live.StateHash)
	}
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
	again := startServe(t, dir)
	var after struct {
		StateHash string `json:"state_hash"`
	}
	testutil.GetJSON(t, again.HTTPURL, "/api/v1/admin/state", 200, &after)
	if after.StateHash != live.StateHash {
		t.Fatalf("serve on the rebuilt store has state hash %s, want %s", after.StateHash, live.StateHash)
	}
}

// storeBackup applies n dossiers of the standard flow to a new store and
// writes its backup (what `hoso backup` receives) to path.
func storeBackup(t *testing.T, path string, n int) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hoso.db"), store.Options{Catalog: testutil.Catalog(t), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2025, 8, 4, 8, 0, 0, 0, workflow.Zone)
	var envs []workflow.Envelope
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-250804-%04d", i)
		for k, action := range []string{"receive", "assign", "transfer"} {
			ev := &workflow.Event{ID: fmt.Sprintf("%s/%d", code, k), SourceURI: "/motcua/tayninh", Source: "tayninh",
				Action: action, Dossier: code, Time: at.Add(time.Duration(k) * time.Hour), Procedure: "1.004227",
				Agency: "H57", Actor: "cb-01", Department: "phong-tn", Due: at.AddDate(0, 0, 10)}
			if action == "receive" {
				ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
			}
			envs = append(envs, workflow.Envelope{Seq: uint64(len(envs) + 1), Subject: "hoso.events.tayninh." + workflow.DossierToken(code),
				Published: ev.Time, Event: ev})
		}
	}
	res, err := db.Apply(context.Background(), envs)
	if err != nil || res.Rejected != 0 {
		t.Fatalf("Apply = %+v, %v", res.Outcomes[:min(3, len(res.Outcomes))], err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := db.Backup(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreRefusesTruncatedBackups truncates a real backup at several
// points and restores it through the command: each is refused with an
// error, nothing crashes, and the store in place stays as it was.
func TestRestoreRefusesTruncatedBackups(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	storeBackup(t, good, 400)
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(full) < 16*page || len(full)%page != 0 {
		t.Fatalf("backup of %d bytes: want many whole pages", len(full))
	}
	liveDir := filepath.Join(dir, "live")
	before := restoreInto(t, good, liveDir)
	for _, size := range []int{
		100,                         // inside the first meta page
		page + page/2,               // inside the second meta page
		2 * page,                    // just after the meta pages
		2*page + 1,                  // one byte into the first data page
		len(full) / 2 / page * page, // a page boundary in the middle
		len(full)/2 + 1234,          // mid-page in the middle
		len(full) - page,            // the last page missing
		len(full) - 1,               // one byte short
	} {
		cut := filepath.Join(dir, fmt.Sprintf("cut-%d.db", size))
		if err := os.WriteFile(cut, full[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := hosoRun(t, "restore", cut, "--data-dir", liveDir)
		if err == nil {
			t.Errorf("restore of the backup cut to %d of %d bytes succeeded:\n%s", size, len(full), out)
		} else if size >= 2*page && !errors.Is(err, store.ErrTruncated) {
			t.Errorf("restore of the backup cut to %d of %d bytes = %v, want store.ErrTruncated", size, len(full), err)
		}
	}
	after, err := os.ReadFile(filepath.Join(liveDir, "hoso.db"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("a refused restore changed the store in place (%v)", err)
	}
	if kept, _ := filepath.Glob(filepath.Join(liveDir, "hoso.db.*")); len(kept) != 0 {
		t.Errorf("a refused restore left %q", kept)
	}

	// A whole backup replaces a truncated store.
	if err := os.WriteFile(filepath.Join(liveDir, "hoso.db"), full[:len(full)/2+1234], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := hosoRun(t, "restore", good, "--data-dir", liveDir); err != nil {
		t.Errorf("restore over a truncated store: %v\n%s", err, out)
	}
	if now, err := os.ReadFile(filepath.Join(liveDir, "hoso.db")); err != nil || !bytes.Equal(now, full) {
		t.Errorf("restore over a truncated store did not put the backup in place (%v)", err)
	}
}

// TestBackupRefusesTruncatedCopy serves `hoso backup` a copy cut short
// without a length to check it against: the command refuses it and writes
// no file.
func TestBackupRefusesTruncatedCopy(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	storeBackup(t, good, 400)
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := store.Inspect(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(web.HeaderAppliedSeq, strconv.FormatUint(fi.AppliedSeq, 10))
		w.Header().Set(web.HeaderStateHash, fi.StateHash.String())
		w.WriteHeader(http.StatusOK)
		w.Write(full[:len(full)/2+1234]) // chunked: no Content-Length
	}))
	defer srv.Close()
	out := filepath.Join(dir, "copy.db")
	msg, err := hosoRun(t, "backup", "--server", srv.URL, "-o", out)
	if !errors.Is(err, store.ErrTruncated) {
		t.Errorf("backup of a truncated copy = %v, want store.ErrTruncated\n%s", err, msg)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of a truncated copy left %s (%v)", out, err)
	}
}

// restoreInto restores the backup into an empty data directory and
// returns the store file it put there.
func restoreInto(t *testing.T, backup, dataDir string) []byte {
	t.Helper()
	if out, err := hosoRun(t, "restore", backup, "--data-dir", dataDir); err != nil {
		t.Fatalf("restore %s into an empty directory: %v\n%s", backup, err, out)
	}
	data, err := os.ReadFile(filepath.Join(dataDir, "hoso.db"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
