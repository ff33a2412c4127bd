package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
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
	code := listCode(2) // received, assigned (status 4), a rejected resolve
	_, errb, err := f.hoso("audit", "verify", "--limit", "2")
	if err != nil || !strings.Contains(errb, "7/7") {
		t.Fatalf("audit verify of an intact store = %v; stderr:\n%s", err, errb)
	}
	f.in.stop(t)
	tamperRecordStatus(t, filepath.Join(f.dir, "hoso.db"), code)
	f.in = startServe(t, f.dir)

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
