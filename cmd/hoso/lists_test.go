package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// listFixture is testutil's list fixture with the commands of this
// binary.
type listFixture struct{ *testutil.ListFixture }

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	return &listFixture{testutil.NewListFixture(t)}
}

// hoso runs a client command against the fixture's instance (through
// HOSO_SERVER) and returns its standard output and error.
func (f *listFixture) hoso(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string {
		if k == "HOSO_SERVER" {
			return f.In.HTTPURL
		}
		return ""
	}, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// codesOf decodes `-o json` output of a list and returns the codes (or
// dossiers, for rejections) of its items and its next cursor.
func codesOf(t *testing.T, out, field string) ([]string, string) {
	t.Helper()
	var p struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	codes := []string{}
	for _, it := range p.Items {
		s, _ := it[field].(string)
		codes = append(codes, s)
	}
	return codes, p.NextCursor
}

// TestDossierListCommand runs `hoso dossier list` with each filter, in
// both output formats, page by page and with --all.
func TestDossierListCommand(t *testing.T) {
	f := newListFixture(t)
	all := []string{testutil.ListCode(1), testutil.ListCode(2), testutil.ListCode(3), testutil.ListCode(4), testutil.ListCode(5), testutil.ListCode(6), testutil.ListCode(7)}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--all", "--limit", "2"}, all},
		{[]string{"--from", "2025-10-02", "--to", "2025-10-03", "--all", "--limit", "1"}, []string{testutil.ListCode(2), testutil.ListCode(3), testutil.ListCode(4)}},
		{[]string{"--to", "2025-10-01"}, []string{testutil.ListCode(1)}},
		{[]string{"--overdue"}, []string{testutil.ListCode(3)}},
		{[]string{"--overdue", "--status", "4"}, []string{testutil.ListCode(3)}},
		{[]string{"--overdue", "true"}, []string{testutil.ListCode(3)}}, // as earlier versions took it
		{[]string{"--status", "4", "--overdue", "false"}, []string{testutil.ListCode(2), testutil.ListCode(7)}},
		{[]string{"--overdue=false", "--status", "4"}, []string{testutil.ListCode(2), testutil.ListCode(7)}},
		{[]string{"--status", "2", "--agency", "H58"}, []string{testutil.ListCode(4)}},
		{[]string{"--procedure", "1.004227", "--status", "1"}, []string{testutil.ListCode(6)}},
		{[]string{"--procedure", "9.999999"}, []string{}},
	} {
		out, _, err := f.hoso(append([]string{"dossier", "list", "-o", "json"}, tt.args...)...)
		if err != nil {
			t.Fatalf("dossier list %v: %v", tt.args, err)
		}
		got, next := codesOf(t, out, "code")
		if !slices.Equal(got, tt.want) || next != "" {
			t.Errorf("dossier list %v = %v, next %q; want %v", tt.args, got, next, tt.want)
		}
	}

	// One page, with the cursor to go on from.
	out, _, err := f.hoso("dossier", "list", "-o", "json", "--limit", "3")
	got, next := codesOf(t, out, "code")
	if err != nil || !slices.Equal(got, all[:3]) || next != testutil.ListCode(3) {
		t.Fatalf("dossier list --limit 3 = %v, %v, next %q", err, got, next)
	}
	out, _, err = f.hoso("dossier", "list", "-o", "json", "--limit", "3", "--cursor", next)
	if got, _ = codesOf(t, out, "code"); err != nil || !slices.Equal(got, all[3:6]) {
		t.Fatalf("dossier list --cursor %s = %v, %v", next, err, got)
	}

	// For people: a table, and a hint on stderr when there is more.
	out, errOut, err := f.hoso("dossier", "list", "--limit", "3")
	if err != nil || !strings.Contains(out, "MÃ HỒ SƠ") || strings.Count(out, "\n") != 4 ||
		!strings.Contains(errOut, "3 hồ sơ") || !strings.Contains(errOut, "--cursor "+testutil.ListCode(3)) {
		t.Fatalf("dossier list --limit 3 = %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = f.hoso("dossier", "list", "--overdue", "true")
	if err != nil || !strings.Contains(out, testutil.ListCode(3)) || !strings.Contains(out, "quá hạn") || !strings.Contains(out, "4 Đang xử lý") ||
		!strings.Contains(out, "dia-chinh") || !strings.Contains(out, "2025-10-06 00:00") || strings.Contains(errOut, "more") {
		t.Fatalf("dossier list --overdue true = %v\n%s%s", err, out, errOut)
	}

	// The server's 400s reach the user.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--status", "11"}, "status: \"11\" is not a status code"},
		{[]string{"--from", "2025-10-09", "--to", "2025-10-01"}, "to: 2025-10-01 is before from"},
		{[]string{"--overdue=maybe"}, "\"maybe\" is not true or false"},
		{[]string{"--overdue", "maybe"}, "unexpected argument \"maybe\""},
		{[]string{"--limit", "5000"}, "limit"},
	} {
		if _, errOut, err := f.hoso(append([]string{"dossier", "list"}, tt.args...)...); err == nil || !strings.Contains(err.Error()+errOut, tt.want) {
			t.Errorf("dossier list %v = %v (%s), want an error with %q", tt.args, err, errOut, tt.want)
		}
	}
	if _, _, err := f.hoso("dossier", "list", "-o", "yaml"); err == nil || !strings.Contains(err.Error(), "not table or json") {
		t.Errorf("dossier list -o yaml = %v", err)
	}
}

// TestRejectionsCommand runs `hoso rejections` with its filters.
func TestRejectionsCommand(t *testing.T) {
	f := newListFixture(t)
	out, errOut, err := f.hoso("rejections")
	if err != nil || !strings.Contains(out, "invalid_transition") || !strings.Contains(out, "missing_attachment") ||
		!strings.Contains(out, testutil.ListCode(7)) || !strings.Contains(errOut, "2 sự kiện bị từ chối") {
		t.Fatalf("rejections = %v\n%s%s", err, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{testutil.ListCode(7), testutil.ListCode(2)}}, // newest first
		{[]string{"--reason", "invalid_transition"}, []string{testutil.ListCode(7)}},
		{[]string{"--dossier", testutil.ListCode(2)}, []string{testutil.ListCode(2)}},
		{[]string{"--agency", "H57"}, []string{testutil.ListCode(7), testutil.ListCode(2)}},
		{[]string{"--agency", "H58"}, []string{}},
		{[]string{"--limit", "1", "--all"}, []string{testutil.ListCode(7), testutil.ListCode(2)}},
		{[]string{"--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, []string{}},
		{[]string{"--since", "2025-01-01", "--reason", "duplicate"}, []string{}},
	} {
		out, _, err := f.hoso(append([]string{"rejections", "-o", "json"}, tt.args...)...)
		if err != nil {
			t.Fatalf("rejections %v: %v", tt.args, err)
		}
		if got, next := codesOf(t, out, "dossier"); !slices.Equal(got, tt.want) || next != "" {
			t.Errorf("rejections %v = %v, next %q; want %v", tt.args, got, next, tt.want)
		}
	}
	out, _, err = f.hoso("rejections", "-o", "json", "--limit", "1")
	if got, next := codesOf(t, out, "dossier"); err != nil || !slices.Equal(got, []string{testutil.ListCode(7)}) || next == "" {
		t.Fatalf("rejections --limit 1 = %v, %v, next %q", err, got, next)
	}
	if _, _, err := f.hoso("rejections", "--reason", "bogus"); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("rejections --reason bogus = %v", err)
	}
}

// TestIrregularitiesCommand runs `hoso irregularities` with its filters.
// The list fixture's events happened in October 2025 and reach the
// stream now: each accepted one is a late entry by its arrival. One more,
// the receipt of dossier 8 on Monday 6 October at 09:00 by cb-09, says
// the one-stop-shop entered it on Wednesday 8 at 09:00: 16 working hours
// late (Monday 2 h 30 min + 3 h 30 min, Tuesday 8 h, Wednesday 2 h).
func TestIrregularitiesCommand(t *testing.T) {
	f := newListFixture(t)
	nc, _ := testutil.Connect(t, f.In.NATSURL)
	code8 := testutil.ListCode(8)
	ev := &workflow.Event{ID: "list-irr-8", SourceURI: "/hoso/emit/tayninh", Source: "tayninh", Dossier: code8, Action: "receive",
		Procedure: "1.004227", Agency: "H57", Actor: "cb-09", Time: time.Date(2025, 10, 6, 9, 0, 0, 0, workflow.Zone),
		Entered:     time.Date(2025, 10, 8, 9, 0, 0, 0, workflow.Zone),
		Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}}
	if o, err := testutil.Emit(nc, ev, 10*time.Second); err != nil || o.Kind != workflow.OutcomeAccepted {
		t.Fatalf("emit the receipt of %s: %v %s %s", code8, err, o.Kind, o.MessageEN)
	}
	c := testutil.ListCode
	for _, tt := range []struct {
		args []string
		want []string
	}{
		// Newest first: the 13 events the fixture applied, after dossier 8's.
		{[]string{"--all", "--limit", "3"}, []string{code8, c(7), c(7), c(6), c(5), c(4), c(3), c(3), c(2), c(2), c(1), c(1), c(1), c(1)}},
		{[]string{"--dossier", c(1)}, []string{c(1), c(1), c(1), c(1)}},
		{[]string{"--agency", "H58"}, []string{c(4)}},
		{[]string{"--agency", "H59"}, []string{}},
		{[]string{"--actor", "cb-09"}, []string{code8}},
		{[]string{"--actor", "cb-01", "--dossier", c(7)}, []string{c(7), c(7)}},
		{[]string{"--kind", "late_entry", "--agency", "H58"}, []string{c(4)}},
		{[]string{"--kind", "repeated_supplement"}, []string{}},
		{[]string{"--kind", "late_apology", "--all"}, []string{}},
	} {
		out, _, err := f.hoso(append([]string{"irregularities", "-o", "json"}, tt.args...)...)
		if err != nil {
			t.Fatalf("irregularities %v: %v", tt.args, err)
		}
		if got, next := codesOf(t, out, "dossier"); !slices.Equal(got, tt.want) || next != "" {
			t.Errorf("irregularities %v = %v, next %q; want %v", tt.args, got, next, tt.want)
		}
	}

	// One page, then the next from its cursor.
	out, _, err := f.hoso("irregularities", "-o", "json", "--limit", "2")
	got, next := codesOf(t, out, "dossier")
	if err != nil || !slices.Equal(got, []string{code8, c(7)}) || next == "" {
		t.Fatalf("irregularities --limit 2 = %v, %v, next %q", err, got, next)
	}
	out, _, err = f.hoso("irregularities", "-o", "json", "--limit", "2", "--cursor", next)
	if got, _ = codesOf(t, out, "dossier"); err != nil || !slices.Equal(got, []string{c(7), c(6)}) {
		t.Fatalf("irregularities --cursor %s = %v, %v", next, err, got)
	}

	// The item of dossier 8 as the API gives it.
	out, _, err = f.hoso("irregularities", "-o", "json", "--dossier", code8)
	var page struct {
		Items []struct {
			Kind       string    `json:"kind"`
			Actor      string    `json:"actor"`
			Time       time.Time `json:"time"`
			Entered    time.Time `json:"entered"`
			DelayHours float64   `json:"delay_hours"`
		} `json:"items"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 {
		t.Fatalf("irregularities --dossier %s = %v\n%s", code8, err, out)
	}
	if it := page.Items[0]; it.Kind != "late_entry" || it.Actor != "cb-09" || it.DelayHours != 16 || !it.Time.Equal(ev.Time) || !it.Entered.Equal(ev.Entered) {
		t.Errorf("irregularity of %s = %+v; want cb-09's late entry of 16 working hours", code8, it)
	}

	// For people: a table, a count on stderr, a hint when there is more.
	out, errOut, err := f.hoso("irregularities", "--actor", "cb-09")
	if err != nil || !strings.Contains(out, "LOẠI") || !strings.Contains(out, code8) || !strings.Contains(out, "2025-10-06 09:00") ||
		!strings.Contains(out, "2025-10-08 09:00") || !regexp.MustCompile(`late_entry\s+16\s+`).MatchString(out) ||
		!strings.Contains(out, "sau 16 giờ làm việc") || !strings.Contains(errOut, "1 bất thường") {
		t.Fatalf("irregularities --actor cb-09 = %v\n%s%s", err, out, errOut)
	}
	if _, errOut, err := f.hoso("irregularities", "--limit", "1"); err != nil || !strings.Contains(errOut, "--cursor ") {
		t.Errorf("irregularities --limit 1 = %v, stderr %q; want a hint to go on", err, errOut)
	}

	// The server's 400s reach the user.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "late"}, "known: late_entry, late_apology, repeated_supplement"},
		{[]string{"--cursor", "abc"}, "cursor"},
		{[]string{"--limit", "5000"}, "limit"},
		{[]string{"--dossier", "a b"}, "not a dossier code"},
		{[]string{"late_entry"}, "unexpected argument \"late_entry\""},
	} {
		if _, errOut, err := f.hoso(append([]string{"irregularities"}, tt.args...)...); err == nil || !strings.Contains(err.Error()+errOut, tt.want) {
			t.Errorf("irregularities %v = %v (%s), want an error with %q", tt.args, err, errOut, tt.want)
		}
	}
}

// TestAuditVerifyCommand verifies every chain, then edits one history
// entry in the store file behind hoso's back and finds it.
func TestAuditVerifyCommand(t *testing.T) {
	f := newListFixture(t)
	out, _, err := f.hoso("audit", "verify", "--limit", "2")
	if err != nil || !strings.Contains(out, "đã kiểm tra 7 hồ sơ: 0 hồ sơ sai, 0 lỗi của kho") {
		t.Fatalf("audit verify = %v\n%s", err, out)
	}
	out, _, err = f.hoso("audit", "verify", testutil.ListCode(1))
	if err != nil || !strings.Contains(out, testutil.ListCode(1)+": chuỗi băm OK, 4 mục") {
		t.Fatalf("audit verify %s = %v\n%s", testutil.ListCode(1), err, out)
	}
	if _, _, err := f.hoso("audit", "verify", "000.00.12.H57-999999-0000"); err == nil || !strings.Contains(err.Error(), "no dossier") {
		t.Fatalf("audit verify of an unknown dossier = %v", err)
	}
	if _, _, err := f.hoso("audit", "check"); err == nil {
		t.Fatal("audit check: no error")
	}

	// Change the actor of the second entry of dossier 3 in the file.
	f.In.Stop(t)
	tamperHistory(t, filepath.Join(f.Dir, "hoso.db"), testutil.ListCode(3), 1, "cb-01", "cb-99")
	f.In = startServe(t, f.Dir)

	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--limit", "1"}, {"audit", "verify", testutil.ListCode(3)}} {
		out, _, err := f.hoso(args...)
		if code, ok := err.(exitError); !ok || code != 1 {
			t.Fatalf("%v after tampering = %v, want exit status 1\n%s", args, err, out)
		}
		if want := testutil.ListCode(3) + ": chuỗi băm HỎNG tại mục 1: "; !strings.Contains(out, want) || strings.Count(out, "HỎNG") != 1 {
			t.Errorf("%v after tampering printed\n%s\nwant one line with %q", args, out, want)
		}
	}
	out, _, err = f.hoso("audit", "verify", "-o", "json")
	var res struct {
		Checked int `json:"checked"`
		Broken  []struct {
			Dossier  string `json:"dossier"`
			OK       bool   `json:"ok"`
			BrokenAt int    `json:"broken_at"`
			Problem  string `json:"problem"`
		} `json:"broken"`
	}
	if code, ok := err.(exitError); !ok || code != 1 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("audit verify -o json after tampering = %v\n%s", err, out)
	}
	if res.Checked != 7 || len(res.Broken) != 1 || res.Broken[0].Dossier != testutil.ListCode(3) || res.Broken[0].OK ||
		res.Broken[0].BrokenAt != 1 || !strings.Contains(res.Broken[0].Problem, "content hashes to") {
		t.Errorf("audit verify -o json after tampering: %+v", res)
	}
	if _, _, err := f.hoso("audit", "verify", testutil.ListCode(1)); err != nil {
		t.Errorf("audit verify of an untouched dossier after tampering = %v", err)
	}
}

// historyKey returns the key in the history bucket of entry index of the
// dossier with the code, as a forger who knows the layout finds it: the
// dossier's record (version 2) starts with its id, a uvarint after the
// version byte, and the key is the id then the index, big-endian uint32s.
func historyKey(tx *bbolt.Tx, code string, index int) ([]byte, error) {
	rec := tx.Bucket([]byte("dossiers")).Get([]byte(code))
	if len(rec) < 2 || rec[0] != 2 {
		return nil, fmt.Errorf("no record of version 2 for %s", code)
	}
	id, n := binary.Uvarint(rec[1:])
	if n <= 0 {
		return nil, fmt.Errorf("record of %s: bad id", code)
	}
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(id)), uint32(index)), nil
}

// tamperHistory edits one history entry of a closed store file as a
// forger with bbolt would: in the record of the entry in the history
// bucket (historyKey), the bytes of old (a field's value, stored as is) become
// those of new, of the same length, so that the record still reads.
func tamperHistory(t *testing.T, path, code string, index int, old, new string) {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("tamper: %q and %q differ in length", old, new)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("history"))
		if b == nil {
			return fmt.Errorf("no history bucket")
		}
		key, err := historyKey(tx, code, index)
		if err != nil {
			return err
		}
		v := b.Get(key)
		if bytes.Count(v, []byte(old)) != 1 {
			return fmt.Errorf("entry %s/%d holds %q %d times, want once", code, index, old, bytes.Count(v, []byte(old)))
		}
		return b.Put(key, bytes.Replace(v, []byte(old), []byte(new), 1))
	})
	if err != nil {
		t.Fatalf("tamper with %s: %v", path, err)
	}
}
