package workflow

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"testing"
	"time"
)

// referenceHash is the recipe of ComputeHash's doc comment written
// plainly, field by field: ComputeHash must agree with it.
func referenceHash(e *HistoryEntry) Hash {
	h := sha256.New()
	h.Write(e.PrevHash[:])
	field := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, s := range []string{
		hashDomain, e.Dossier, strconv.Itoa(e.Index), strconv.FormatUint(e.Seq, 10), e.EventID, e.Source,
		e.Action, e.From, e.To, strconv.Itoa(int(e.FromStatus)), strconv.Itoa(int(e.ToStatus)), ts(e.Time),
		e.Actor, e.Agency, e.Department, e.Reason, e.Note, ts(e.Due), string(e.Timing), strconv.Itoa(len(e.Attachments)),
	} {
		field(s)
	}
	for _, a := range e.Attachments {
		field(a.Kind)
		field(a.Name)
		field(a.SHA256)
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

func TestComputeHashRecipe(t *testing.T) {
	long := string(make([]byte, 3000)) // beyond ComputeHash's stack buffer
	entries := []HistoryEntry{
		{},
		{Dossier: "000.00.12.H57-250101-0001", Index: 3, Seq: 18446744073709551615, EventID: "e-1", Source: "tayninh",
			Action: "transfer", From: "received", To: "processing", FromStatus: 2, ToStatus: 4,
			Time: time.Date(2025, 7, 1, 8, 0, 0, 123, Zone), Actor: "canbo-01", Agency: "000.00.12.H57",
			Department: "phong-tn", Reason: "lý do", Note: long, Due: time.Date(2025, 7, 15, 17, 0, 0, 0, time.UTC),
			Timing: TimingEarly, PrevHash: Hash{1, 2, 3},
			Attachments: []Attachment{{Kind: "input_digitized", Name: "a.pdf", SHA256: "00ff"}, {Kind: "x"}}},
		{Index: -1, FromStatus: -5, Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
	}
	for i := range entries {
		e := &entries[i]
		if got, want := e.ComputeHash(), referenceHash(e); got != want {
			t.Errorf("ComputeHash(entry %d) = %s, want %s", i, got, want)
		}
	}
}

func BenchmarkComputeHash(b *testing.B) {
	e := HistoryEntry{Dossier: "000.00.12.H57-250101-0001", Index: 3, Seq: 123456, EventID: "7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6b",
		Source: "tayninh", Action: "transfer", From: "received", To: "processing", FromStatus: 2, ToStatus: 4,
		Time: time.Date(2025, 7, 1, 8, 0, 0, 0, Zone), Actor: "canbo-01", Agency: "000.00.12.H57", Department: "phong-tn",
		Due: time.Date(2025, 7, 15, 17, 0, 0, 0, Zone), Timing: TimingEarly,
		Attachments: []Attachment{{Kind: "input_digitized", Name: "input_digitized.pdf", SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}}
	b.ReportAllocs()
	for b.Loop() {
		e.ComputeHash()
	}
}
