package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// tamperRecordStatus changes, in a closed store file, a dossier's status
// in its record from 4 to 10 (the state name before it left as it is),
// as someone with write access to the file would: its history, indexes
// and counters stay as they were.
func tamperRecordStatus(t *testing.T, path, code string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("dossiers"))
		rec := bytes.Clone(b.Get([]byte(code)))
		// The state is stored as its length and bytes, the status after it
		// as a zigzag varint: 4 is 0x08, 10 is 0x14.
		at := bytes.Index(rec, []byte("\x0aprocessing\x08"))
		if at < 0 {
			return fmt.Errorf("record of %s holds no state processing in status 4: % x", code, rec)
		}
		rec[at+11] = 0x14
		return b.Put([]byte(code), rec)
	})
	if err != nil {
		t.Fatalf("tamper with %s: %v", path, err)
	}
}

// TestAuditVerifyCommandNamesAnEditedRecord runs `hoso serve` on a store
// whose file had a dossier's status changed in its record (4 to 10, its
// history untouched) and checks that `hoso audit verify`, through the
// HTTP API, exits with status 1 naming the dossier and the field, for the
// whole store and for the one dossier, with its progress on stderr.
func TestAuditVerifyCommandNamesAnEditedRecord(t *testing.T) {
	f := newListFixture(t)
	code := testutil.ListCode(2) // received, assigned (status 4), a rejected resolve
	_, errb, err := f.hoso("audit", "verify", "--limit", "2")
	if err != nil || !strings.Contains(errb, "7/7") {
		t.Fatalf("audit verify of an intact store = %v; stderr:\n%s", err, errb)
	}
	f.In.Stop(t)
	tamperRecordStatus(t, filepath.Join(f.Dir, "hoso.db"), code)
	f.In = startServe(t, f.Dir)

	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--limit", "1"}, {"audit", "verify", code}} {
		out, errb, err := f.hoso(args...)
		if c, ok := err.(exitError); !ok || c != 1 {
			t.Fatalf("%v after tampering = %v, want exit status 1\n%s%s", args, err, out, errb)
		}
		if want := code + ": status: "; !strings.Contains(out, want) || !strings.Contains(out, "10") {
			t.Errorf("%v after tampering printed\n%s\nwant a line with %q", args, out, want)
		}
		if len(args) == 2 && !strings.Contains(out, "status:4") {
			t.Errorf("%v after tampering printed\n%s\nwant the counter status:4 named", args, out)
		}
	}
	out, _, err := f.hoso("audit", "verify", "-o", "json")
	var res struct {
		Checked int `json:"checked"`
		Broken  []struct {
			Dossier  string `json:"dossier"`
			Findings []struct {
				Field, Want, Got string
			} `json:"findings"`
		} `json:"broken"`
		Store []struct {
			Bucket, Key, Want, Got string
		} `json:"store"`
	}
	if c, ok := err.(exitError); !ok || c != 1 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("audit verify -o json after tampering = %v\n%s", err, out)
	}
	if res.Checked != 7 || len(res.Broken) != 1 || res.Broken[0].Dossier != code || len(res.Broken[0].Findings) == 0 ||
		res.Broken[0].Findings[0].Field != "status" || res.Broken[0].Findings[0].Want != "4" || res.Broken[0].Findings[0].Got != "10" {
		t.Errorf("audit verify -o json after tampering: %+v", res)
	}
	if len(res.Store) == 0 {
		t.Errorf("audit verify -o json after tampering: no store findings, want the status index and counters")
	}
}

// TestOutcomeReceipt emits events to `hoso serve`, reads their outcomes
// from the HOSO_OUTCOMES stream, and checks that each accepted one
// carries the hash the dossier's history shows at its index: the
// sender's receipt.
func TestOutcomeReceipt(t *testing.T) {
	f := newListFixture(t) // 16 events: 13 transitions, a deadline expiry, 2 rejections
	_, js := testutil.Connect(t, f.In.NATSURL)
	testutil.WaitOutcomes(t, js, 16, 20*time.Second)
	cons, err := js.OrderedConsumer(context.Background(), events.OutcomesStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	receipts := 0
	for range 16 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		cancel()
		if err != nil {
			t.Fatalf("read the outcomes stream: %v", err)
		}
		var o struct {
			Kind         string `json:"kind"`
			Dossier      string `json:"dossier"`
			HistoryIndex *int   `json:"history_index"`
			EntryHash    string `json:"entry_hash"`
		}
		if err := json.Unmarshal(msg.Data(), &o); err != nil {
			t.Fatalf("outcome %s: %v", msg.Data(), err)
		}
		if o.HistoryIndex == nil {
			if o.EntryHash != "" {
				t.Errorf("outcome without a history entry carries entry_hash: %s", msg.Data())
			}
			continue
		}
		var d struct {
			History []struct {
				Index int    `json:"index"`
				Hash  string `json:"hash"`
			} `json:"history"`
		}
		testutil.GetJSON(t, f.In.HTTPURL, "/api/v1/dossiers/"+url.PathEscape(o.Dossier), 200, &d)
		if *o.HistoryIndex >= len(d.History) || d.History[*o.HistoryIndex].Hash != o.EntryHash || len(o.EntryHash) != 64 {
			t.Errorf("outcome %s: the dossier's history shows %+v", msg.Data(), d.History)
		}
		receipts++
	}
	if receipts != 13 {
		t.Errorf("%d outcomes carried a receipt, want the 13 of the transitions", receipts)
	}
}

// TestAuditProgress checks the progress lines of a whole-store audit: the
// first page without an estimate (it also checked the whole store), the
// next ones at most one per interval with the time left at the rate since
// the first, the last always.
func TestAuditProgress(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	p := progress{w: &out, interval: 2 * time.Second, line: auditLine, now: func() time.Time { return now }}
	p.report(1000, 10000, false)
	now = now.Add(time.Second)
	p.report(2000, 10000, false) // within the interval: silent
	now = now.Add(time.Second)
	p.report(3000, 10000, false) // 2,000 dossiers in 2 s: 7,000 left take 7 s
	now = now.Add(time.Second)
	p.report(10001, 10000, true) // the store grew during the audit
	want := "đã kiểm tra 1000/10000 hồ sơ (10%)\n" +
		"đã kiểm tra 3000/10000 hồ sơ (30%), còn khoảng 7s\n" +
		"đã kiểm tra 10001/10001 hồ sơ (100%)\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
}
