package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// hosoWith runs a hoso command with the environment env and returns its
// standard output and error.
func hosoWith(env map[string]string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// keygen runs `hoso checkpoint keygen` into dir and returns the paths of
// the private key and of the public key it printed.
func keygen(t *testing.T, dir string) (keyPath, pubPath string) {
	t.Helper()
	keyPath, pubPath = filepath.Join(dir, "checkpoint.pem"), filepath.Join(dir, "checkpoint.pub.pem")
	out, errb, err := hosoWith(nil, "checkpoint", "keygen", "-o", keyPath)
	if err != nil {
		t.Fatalf("checkpoint keygen = %v\n%s", err, errb)
	}
	if !strings.HasPrefix(out, "-----BEGIN PUBLIC KEY-----\n") || !strings.Contains(errb, "key id ") {
		t.Fatalf("checkpoint keygen printed %q and %q; want the public key in PEM and its key id", out, errb)
	}
	if err := os.WriteFile(pubPath, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", keyPath, fi, err)
	}
	return keyPath, pubPath
}

// rewriteChain rewrites, in a closed store file, the history of a dossier
// from the entry index on as a forger who knows the record format would:
// the entry's status after the action becomes status, every hash from it
// on is recomputed and linked to the one before, and the dossier's head
// becomes the new last hash, so that the chain check passes.
func rewriteChain(t *testing.T, path, code string, index int, status workflow.Status) {
	t.Helper()
	db := testutil.OpenStore(t, path)
	_, entries, err := db.DossierHistory(context.Background(), code)
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("history of %s: %v, %v", code, err, cerr)
	}
	old := entries[index]
	oldHead := entries[len(entries)-1].Hash
	entries[index].ToStatus = status
	for i := index; i < len(entries); i++ {
		if i > 0 {
			entries[i].PrevHash = entries[i-1].Hash
		}
		entries[i].Hash = entries[i].ComputeHash()
	}
	// A stored entry holds its from and to states (length-prefixed), then
	// its from and to statuses (zig-zag varints), in this order.
	str := func(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }
	before := append(append(append(str(old.From), str(old.To)...), binary.AppendVarint(nil, int64(old.FromStatus))...), binary.AppendVarint(nil, int64(old.ToStatus))...)
	after := append(append(append(str(old.From), str(old.To)...), binary.AppendVarint(nil, int64(old.FromStatus))...), binary.AppendVarint(nil, int64(status))...)
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bbolt.Tx) error {
		h := tx.Bucket([]byte("history"))
		for i := index; i < len(entries); i++ {
			key, err := historyKey(tx, code, i)
			if err != nil {
				return err
			}
			v := bytes.Clone(h.Get(key))
			if i == index {
				if bytes.Count(v, before) != 1 {
					return fmt.Errorf("entry %d: its states and statuses are not found once", i)
				}
				v = bytes.Replace(v, before, after, 1)
			}
			copy(v[len(v)-32:], entries[i].Hash[:])
			if err := h.Put(key, v); err != nil {
				return err
			}
		}
		d := tx.Bucket([]byte("dossiers"))
		v := bytes.Clone(d.Get([]byte(code)))
		if bytes.Count(v, oldHead[:]) != 1 {
			return fmt.Errorf("dossier %s: its head is not found once", code)
		}
		return d.Put([]byte(code), bytes.Replace(v, oldHead[:], entries[len(entries)-1].Hash[:], 1))
	})
	if err != nil {
		t.Fatalf("rewrite %s: %v", path, err)
	}
}

// TestCheckpointsEndToEnd: serve with a key publishes signed checkpoints
// that `hoso audit verify --public-key` verifies, also once the store has
// applied more; a wrong public key and a checkpoint with a flipped
// signature byte are refused; and a chain rewritten in the file with its
// hashes recomputed (which the chain check passes) is named by the
// checkpoints at or after the rewritten entry.
func TestCheckpointsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hoso serve twice")
	}
	dir, keys := t.TempDir(), t.TempDir()
	keyPath, pubPath := keygen(t, keys)
	_, otherPub := keygen(t, t.TempDir())
	// The NATS server outlives the serves of the test.
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	flags := []string{"--checkpoint-key", keyPath, "--checkpoint-interval", "20ms", "--nats-url", natsURL}
	in := startServe(t, dir, flags...)
	a, b := "000.00.12.H57-251001-0001", "000.00.12.H57-251001-0002"
	testutil.EmitAll(t, natsURL, 0, [][2]string{{a, "receive"}, {a, "assign"}, {b, "receive"}})
	testutil.WaitCheckpoint(t, js, 3)
	// Applied after the checkpoint of 3: the store is ahead of it.
	testutil.EmitAll(t, natsURL, 10, [][2]string{{b, "assign"}, {a, "resolve"}})
	env := map[string]string{"HOSO_SERVER": in.HTTPURL}
	verify := func(extra ...string) (string, string, error) {
		return hosoWith(env, append([]string{"audit", "verify", "--public-key", pubPath, "--nats-url", natsURL}, extra...)...)
	}

	out, errb, err := verify()
	if err != nil || !strings.Contains(out, " 0 lỗi") {
		t.Fatalf("audit verify --public-key of an honest store = %v\n%s%s", err, out, errb)
	}
	testutil.WaitCheckpoint(t, js, 5)
	out, errb, err = verify("-o", "json", "--latest")
	var res checkpointResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Checked != 1 || res.Verified != 1 || len(res.Problems) != 0 ||
		res.Latest == nil || res.Latest.Seq < 5 || res.Latest.Time.IsZero() {
		t.Fatalf("audit verify --public-key --latest -o json = %v\n%s%s", err, out, errb)
	}

	out, _, err = hosoWith(env, "audit", "verify", "--public-key", otherPub, "--nats-url", natsURL)
	if err != exitError(1) || !strings.Contains(out, "signed with another key") {
		t.Errorf("audit verify with another public key = %v\n%s; want exit 1 naming the key", err, out)
	}

	// Many checkpoints: the latest again, 24 times (no Nats-Msg-Id), are
	// compared 20 a request, with the progress on standard error.
	ms := testutil.Checkpoints(t, js)
	again, _ := json.Marshal(&ms[len(ms)-1])
	for range 24 {
		if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: events.CheckpointSubject(""), Data: again}); err != nil {
			t.Fatal(err)
		}
	}
	n := len(ms) + 24
	out, errb, err = verify()
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d khớp, 0 lỗi", n)) || !strings.Contains(errb, fmt.Sprintf("checkpoints: 20/%d\n", n)) ||
		!strings.Contains(errb, fmt.Sprintf("checkpoints: %d/%d\n", n, n)) {
		t.Fatalf("audit verify --public-key of %d checkpoints = %v\n%s%s; want all verified, with progress", n, err, out, errb)
	}

	// A checkpoint signed by the key, of a sequence the store has not
	// applied (a store rolled back behind its checkpoints).
	key, err := events.LoadCheckpointKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	ahead := events.SignCheckpoint(workflow.Checkpoint{Seq: 1000, Schema: 7, Dossiers: 2}, time.Now(), key)
	data, _ := json.Marshal(&ahead)
	ack, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: events.CheckpointSubject(""), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = verify()
	want := fmt.Sprintf("checkpoint 1000 (message %d of HOSO_CHECKPOINTS): the store has not applied the sequence this checkpoint signs", ack.Sequence)
	if err != exitError(1) || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("%d khớp, 1 lỗi", n)) {
		t.Errorf("audit verify with a checkpoint ahead of the store = %v\n%s; want exit 1 and %q", err, out, want)
	}

	// A checkpoint whose signature has one byte flipped.
	ms = testutil.Checkpoints(t, js)
	forged := ms[len(ms)-1]
	forged.Signature[7] ^= 0x10
	data, _ = json.Marshal(&forged)
	ack, err = js.PublishMsg(context.Background(), &nats.Msg{Subject: events.CheckpointSubject(""), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = verify("--latest")
	want = fmt.Sprintf("checkpoint %d (message %d of HOSO_CHECKPOINTS): bad signature", forged.Seq, ack.Sequence)
	if err != exitError(1) || !strings.Contains(out, want) || !strings.Contains(out, " 1 lỗi") {
		t.Errorf("audit verify of a checkpoint with a flipped signature byte = %v\n%s; want exit 1 and %q", err, out, want)
	}

	// Stopped, the file is rewritten: the status of code a's first entry
	// (applied at 1), its chain re-linked. The chain check passes.
	in.Stop(t)
	cps := testutil.Checkpoints(t, js)
	rewriteChain(t, filepath.Join(dir, "hoso.db"), a, 0, workflow.StatusProcessing)
	chainPasses(t, filepath.Join(dir, "hoso.db"), a)
	in = startServe(t, dir, flags...)
	env["HOSO_SERVER"] = in.HTTPURL
	out, _, err = verify()
	if err != exitError(1) {
		t.Fatalf("audit verify --public-key after the rewrite = %v\n%s; want exit 1", err, out)
	}
	for _, m := range cps {
		want := fmt.Sprintf("checkpoint %d (message ", m.Seq)
		if !strings.Contains(out, want) || !strings.Contains(out, "heads_root differs") {
			t.Errorf("audit verify after the rewrite does not name the heads_root of checkpoint %d:\n%s", m.Seq, out)
		}
	}
	if strings.Contains(out, "dossiers differs") || strings.Contains(out, "rejections_digest differs") {
		t.Errorf("audit verify after the rewrite names more than the heads root:\n%s", out)
	}
}

// TestCheckpointsAcrossSchemaUpgrade: an upgrade rebuilds the store
// under schema 6 or later (6 decides the logged events anew; the store
// here is of 7), so the store legitimately differs from every checkpoint
// signed before (version 1, schema 5 or older; here also a version 2 of
// schema 5). Verify lists those as made under other rules, not compared
// and not problems, their signatures still checked; until a checkpoint of
// the store's schema 7 exists it says plainly that nothing could be
// compared (exit 1, as with no checkpoint at all). The engine started on
// the rebuilt store publishes the checkpoint of schema 7 of the sequence
// the old engine signed last, and
// verification resumes from it: it verifies, a store rewritten in its
// file fails against it, and a schema line changed in a signed checkpoint
// is a bad signature.
func TestCheckpointsAcrossSchemaUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hoso serve three times")
	}
	ctx := context.Background()
	dir, keys := t.TempDir(), t.TempDir()
	keyPath, pubPath := keygen(t, keys)
	key, err := events.LoadCheckpointKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	natsURL, js := testutil.StartNATS(t, t.TempDir())
	if err := events.SetupCheckpoints(ctx, js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	publish := func(m events.CheckpointMessage, msgID string) uint64 {
		t.Helper()
		data, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		msg := &nats.Msg{Subject: events.CheckpointSubject(""), Data: data, Header: nats.Header{}}
		if msgID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, msgID)
		}
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	// Signed before the upgrade, of a store that decided the same three
	// events under the old rules: other roots and state.
	old := workflow.Checkpoint{Seq: 2, Schema: 5, Dossiers: 1,
		StateHash: sha256.Sum256([]byte("state under schema 5")), HeadsRoot: sha256.Sum256([]byte("heads under schema 5")),
		RejectionsDigest: sha256.Sum256([]byte("rejections under schema 5"))}
	v2 := events.SignCheckpoint(old, time.Date(2026, 12, 7, 9, 0, 0, 0, workflow.Zone), key)
	if n := publish(v2, "checkpoint-2"); n != 1 {
		t.Fatalf("the version 2 checkpoint of schema 5 is message %d, want 1", n)
	}
	v1 := events.CheckpointMessage{Version: 1, Seq: 3, Time: time.Date(2026, 12, 7, 3, 10, 0, 0, time.UTC), Dossiers: 2,
		StateHash: sha256.Sum256([]byte("state at 3")), HeadsRoot: sha256.Sum256([]byte("heads at 3")),
		RejectionsDigest: old.RejectionsDigest, KeyID: events.KeyID(key.Public().(ed25519.PublicKey))}
	v1.Signature = ed25519.Sign(key, v1.SignedBytes())
	if n := publish(v1, "checkpoint-3"); n != 2 {
		t.Fatalf("the version 1 checkpoint is message %d, want 2", n)
	}

	// The store as rebuilt under schema 7: served without a key first.
	in := startServe(t, dir, "--nats-url", natsURL)
	a, b := "000.00.12.H57-251001-0001", "000.00.12.H57-251001-0002"
	testutil.EmitAll(t, natsURL, 0, [][2]string{{a, "receive"}, {a, "assign"}, {b, "receive"}})
	env := map[string]string{"HOSO_SERVER": in.HTTPURL}
	verify := func(extra ...string) (string, string, error) {
		return hosoWith(env, append([]string{"audit", "verify", "--public-key", pubPath, "--nats-url", natsURL}, extra...)...)
	}
	notComparable := []string{
		"checkpoint 2 (message 1 of HOSO_CHECKPOINTS): signed under schema 5, this store has schema 7: made under other rules, not comparable\n",
		"checkpoint 3 (message 2 of HOSO_CHECKPOINTS): signed under schema 5 or older (checkpoint version 1), this store has schema 7: made under other rules, not comparable\n",
	}
	wantOthers := []checkpointOther{
		{StreamSeq: 1, Seq: 2, Version: 2, Schema: 5, Time: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)},
		{StreamSeq: 2, Seq: 3, Version: 1, Time: time.Date(2026, 12, 7, 3, 10, 0, 0, time.UTC)},
	}
	others := func(res checkpointResult) []checkpointOther {
		out := slices.Clone(res.NotComparableItems)
		for i := range out {
			out[i].Reason = ""
		}
		return out
	}

	out, errb, err := verify()
	for _, want := range notComparable {
		if !strings.Contains(out, want) {
			t.Errorf("audit verify before any checkpoint of schema 7 does not print\n%s", want)
		}
	}
	if err != exitError(1) || !strings.Contains(out, "no checkpoint of this store's schema 7: nothing could be compared") ||
		!strings.Contains(out, ": 0 khớp, 1 lỗi, 2 không so được (ký theo schema khác; kho có schema 7)\n") ||
		strings.Contains(out, "differs") || strings.Contains(out, "bad signature") {
		t.Errorf("audit verify before any checkpoint of schema 7 = %v\n%s%s; want exit 1 saying nothing could be compared, and no difference", err, out, errb)
	}
	out, errb, err = verify("-o", "json")
	var res checkpointResult
	if err != exitError(1) || json.Unmarshal([]byte(out), &res) != nil || res.Checked != 2 || res.Verified != 0 || res.StoreSchema != 7 ||
		res.NotComparable != 2 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Problem, "nothing could be compared") || res.Latest != nil {
		t.Errorf("audit verify -o json before any checkpoint of schema 7 = %v\n%s%s", err, out, errb)
	}
	if diff := cmp.Diff(wantOthers, others(res)); diff != "" {
		t.Errorf("not comparable checkpoints (-want +got):\n%s", diff)
	}

	// The engine on the rebuilt store, now with its key, applied nothing
	// new: it signs the checkpoint of 3 under schema 7 all the same.
	in.Stop(t)
	flags := []string{"--nats-url", natsURL, "--checkpoint-key", keyPath, "--checkpoint-interval", "20ms"}
	in = startServe(t, dir, flags...)
	env["HOSO_SERVER"] = in.HTTPURL
	testutil.WaitCheckpointSchema(t, js, 3, 7)
	out, errb, err = verify()
	for _, want := range notComparable {
		if !strings.Contains(out, want) {
			t.Errorf("audit verify after the upgrade does not print\n%s", want)
		}
	}
	if err != nil || !strings.Contains(out, ": 1 khớp, 0 lỗi, 2 không so được (ký theo schema khác; kho có schema 7)\n") ||
		!strings.Contains(out, "điểm kiểm tra mới nhất có chữ ký hợp lệ: seq 3 lúc ") {
		t.Fatalf("audit verify after the upgrade = %v\n%s%s; want exit 0, 1 verified and 2 not comparable", err, out, errb)
	}
	out, errb, err = verify("-o", "json")
	res = checkpointResult{}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Checked != 3 || res.Verified != 1 || res.StoreSchema != 7 ||
		res.NotComparable != 2 || len(res.Problems) != 0 || res.Latest == nil || res.Latest.Seq != 3 {
		t.Errorf("audit verify -o json after the upgrade = %v\n%s%s", err, out, errb)
	}
	if diff := cmp.Diff(wantOthers, others(res)); diff != "" {
		t.Errorf("not comparable checkpoints after the upgrade (-want +got):\n%s", diff)
	}
	if out, errb, err := verify("--latest"); err != nil || !strings.Contains(out, ": 1 khớp, 0 lỗi\n") {
		t.Errorf("audit verify --latest after the upgrade = %v\n%s%s; want the checkpoint of schema 7 verified", err, out, errb)
	}

	// Stopped, the file is rewritten: code a's first entry, its chain
	// re-linked. The checkpoint of schema 7 names it; the old ones are
	// still only not comparable.
	in.Stop(t)
	rewriteChain(t, filepath.Join(dir, "hoso.db"), a, 0, workflow.StatusProcessing)
	chainPasses(t, filepath.Join(dir, "hoso.db"), a)
	in = startServe(t, dir, flags...)
	env["HOSO_SERVER"] = in.HTTPURL
	out, _, err = verify()
	if err != exitError(1) || !strings.Contains(out, "checkpoint 3 (message 3 of HOSO_CHECKPOINTS): heads_root differs") ||
		strings.Contains(out, "(message 1 of HOSO_CHECKPOINTS): heads_root") || strings.Contains(out, "(message 2 of HOSO_CHECKPOINTS): heads_root") {
		t.Errorf("audit verify of the rewritten store = %v\n%s; want exit 1 naming the heads_root of the checkpoint of schema 7 only", err, out)
	}
	for _, want := range notComparable {
		if !strings.Contains(out, want) {
			t.Errorf("audit verify of the rewritten store does not print\n%s", want)
		}
	}

	// Only an old checkpoint of a sequence the rebuilt store has not
	// applied (the old stream held more): not comparable either, not a
	// sequence missing from the store.
	ahead := v1
	ahead.Seq = 1000
	ahead.Signature = ed25519.Sign(key, ahead.SignedBytes())
	n := publish(ahead, "")
	out, _, err = verify("--latest")
	want := fmt.Sprintf("checkpoint 1000 (message %d of HOSO_CHECKPOINTS): signed under schema 5 or older (checkpoint version 1), this store has schema 7: made under other rules, not comparable\n", n)
	if err != exitError(1) || !strings.Contains(out, want) || !strings.Contains(out, "nothing could be compared") || strings.Contains(out, "not applied") {
		t.Errorf("audit verify --latest of an old checkpoint ahead of the store = %v\n%s; want exit 1, %q and nothing compared", err, out, want)
	}

	// The schema line of a signed checkpoint changed, 5 to 7, to have it
	// compared: its signature no longer verifies.
	forged := v2
	forged.Schema = 7
	n = publish(forged, "")
	out, _, err = verify("--latest")
	want = fmt.Sprintf("checkpoint 2 (message %d of HOSO_CHECKPOINTS): bad signature", n)
	if err != exitError(1) || !strings.Contains(out, want) || strings.Contains(out, "not comparable") {
		t.Errorf("audit verify of a checkpoint whose schema was changed = %v\n%s; want exit 1 and %q", err, out, want)
	}
}

// chainPasses fails the test unless the chain of the dossier in the
// closed store file verifies.
func chainPasses(t *testing.T, path, code string) {
	t.Helper()
	db := testutil.OpenStore(t, path)
	defer db.Close()
	d, entries, err := db.DossierHistory(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if r := workflow.VerifyChain(d, entries); !r.OK {
		t.Fatalf("the rewritten chain of %s does not pass the chain check: %+v", code, r)
	}
}

// TestServeCheckpointKey: serve --check names the key by its id, and
// refuses a key file that group or others may read or write, or that is
// not an ed25519 private key in PKCS#8 PEM.
func TestServeCheckpointKey(t *testing.T) {
	dir := t.TempDir()
	keyPath, pubPath := keygen(t, dir)
	pub, err := events.LoadCheckpointPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	check := func(env map[string]string, extra ...string) (string, error) {
		out, errb, err := hosoWith(env, append([]string{"serve", "--check", "--data-dir", t.TempDir()}, extra...)...)
		return out + errb, err
	}
	out, err := check(nil, "--checkpoint-key", keyPath)
	if want := "checkpoint key " + keyPath + ": key id " + events.KeyID(pub) + ", a checkpoint every 10m0s"; err != nil || !strings.Contains(out, want) {
		t.Errorf("serve --check --checkpoint-key = %v\n%s; want %q", err, out, want)
	}
	out, err = check(map[string]string{"HOSO_CHECKPOINT_KEY": keyPath, "HOSO_CHECKPOINT_INTERVAL": "1h"})
	if err != nil || !strings.Contains(out, "key id "+events.KeyID(pub)+", a checkpoint every 1h0m0s") {
		t.Errorf("serve --check with HOSO_CHECKPOINT_KEY and HOSO_CHECKPOINT_INTERVAL = %v\n%s", err, out)
	}
	for _, extra := range [][]string{nil, {"--checkpoint-key", keyPath, "--checkpoint-interval", "0"}} {
		if out, err := check(nil, extra...); err != nil || !strings.Contains(out, "checkpoints: off") {
			t.Errorf("serve --check %v = %v\n%s; want checkpoints off", extra, err, out)
		}
	}
	if out, err := check(nil, "--checkpoint-key", keyPath, "--checkpoint-interval", "-1s"); err == nil || !strings.Contains(out+err.Error(), "must not be negative") {
		t.Errorf("serve --check --checkpoint-interval -1s = %v\n%s; want refused", err, out)
	}
	for _, mode := range []os.FileMode{0o400, 0o600, 0o640, 0o604, 0o620, 0o602} {
		if err := os.Chmod(keyPath, mode); err != nil {
			t.Fatal(err)
		}
		out, err := check(nil, "--checkpoint-key", keyPath)
		refused := err != nil && strings.Contains(err.Error(), "lets group or others read or write it")
		if refused != (mode&0o077 != 0) {
			t.Errorf("serve --check with a key of mode %04o = %v\n%s", mode, err, out)
		}
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	// Not a private key: the public key, and an ECDSA key.
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, mustRead(t, pubPath), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := check(nil, "--checkpoint-key", bad); err == nil || !strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("serve --check with a public key as --checkpoint-key = %v, want refused", err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := check(nil, "--checkpoint-key", bad); err == nil || !strings.Contains(err.Error(), "not an ed25519 key") {
		t.Errorf("serve --check with an ECDSA key = %v, want refused", err)
	}
	// keygen never overwrites a key.
	if _, _, err := hosoWith(nil, "checkpoint", "keygen", "-o", keyPath); err == nil || !errors.Is(err, fs.ErrExist) {
		t.Errorf("checkpoint keygen over an existing file = %v, want refused", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckpointVerifyAsSupervisors: on an embedded server with users,
// the supervisors' read-only user reads the checkpoints for `audit verify
// --public-key`, given as flags or in the URL, and a source cannot
// publish a checkpoint.
func TestCheckpointVerifyAsSupervisors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hoso serve")
	}
	keyPath, pubPath := keygen(t, t.TempDir())
	users := filepath.Join(t.TempDir(), "nats-users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  - name: tayninh-dvc\n    password: tayninh-secret-1\n    source: tayninh\n"+
		"  - name: supervisors\n    password: supervisors-secret-1\n    supervisor: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startServe(t, t.TempDir(), "--nats-users", users, "--checkpoint-key", keyPath, "--checkpoint-interval", "20ms")
	as := func(user, pass string) string {
		return strings.Replace(in.NATSURL, "nats://", "nats://"+user+":"+pass+"@", 1)
	}
	testutil.EmitAll(t, as("tayninh-dvc", "tayninh-secret-1"), 0, [][2]string{{"000.00.12.H57-251001-0001", "receive"}})
	nc, err := nats.Connect(as("supervisors", "supervisors-secret-1"), nats.CustomInboxPrefix(events.InboxPrefix("supervisors")))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitCheckpoint(t, js, 1)

	env := map[string]string{"HOSO_SERVER": in.HTTPURL, "HOSO_NATS_PASSWORD": "supervisors-secret-1"}
	if out, errb, err := hosoWith(env, "audit", "verify", "--public-key", pubPath, "--nats-url", in.NATSURL, "--nats-user", "supervisors"); err != nil {
		t.Errorf("audit verify --public-key as supervisors = %v\n%s%s", err, out, errb)
	}
	if out, errb, err := hosoWith(env, "audit", "verify", "--public-key", pubPath, "--nats-url", as("supervisors", "supervisors-secret-1")); err != nil {
		t.Errorf("audit verify --public-key as supervisors in the URL = %v\n%s%s", err, out, errb)
	}

	src, err := nats.Connect(as("tayninh-dvc", "tayninh-secret-1"), nats.CustomInboxPrefix(events.InboxPrefix("tayninh")))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sjs, err := jetstream.New(src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := sjs.Publish(ctx, events.CheckpointSubject(""), []byte(`{"version":1,"seq":99}`)); err == nil {
		t.Errorf("a source published a checkpoint")
	}
}
