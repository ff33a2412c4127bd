package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// fill sets every field of the struct v points to, recursively, to a
// value that is not zero and differs from the other fields' values, so
// that a round trip that forgets a field or swaps two fails. Times get
// nanoseconds and a zone offset; slices two elements; pointers a value.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Array: // Hash
		for i := range v.Len() {
			v.Index(i).SetUint(uint64(*n + i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			zone := time.FixedZone("", (*n%14+1)*3600)
			v.Set(reflect.ValueOf(time.Date(2025, 3, *n%28+1, 9, 30, *n%60, 123456789+*n, zone)))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), n)
		}
	default:
		t.Fatalf("fill: no value for a field of kind %s; teach fill and the codec about it", v.Kind())
	}
}

// filled returns a *T with every field set by fill.
func filled[T any](t *testing.T, seed int) *T {
	t.Helper()
	p := new(T)
	fill(t, reflect.ValueOf(p).Elem(), &seed)
	return p
}

// sameTime compares instants and zone offsets, what a record keeps of a
// time.
var sameTime = cmp.Comparer(func(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo
})

// TestRecordRoundTrip encodes and decodes each record type with every
// field set: a field the codec forgets fails it.
func TestRecordRoundTrip(t *testing.T) {
	for seed := range 3 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			d := filled[workflow.Dossier](t, seed)
			var d2 workflow.Dossier
			wantID := uint32(1) << (8 * seed) // one to four bytes as a uvarint
			id, err := decodeDossierID(appendDossier(nil, wantID, d), &d2)
			if err != nil {
				t.Fatalf("decodeDossier: %v", err)
			}
			if id != wantID {
				t.Errorf("dossier id round trip = %d, want %d", id, wantID)
			}
			if diff := cmp.Diff(d, &d2, sameTime); diff != "" {
				t.Errorf("dossier round trip (-want +got):\n%s", diff)
			}

			e := filled[workflow.HistoryEntry](t, seed)
			e.Attachments[1].SHA256 = strings.Repeat("0123456789abcdef", 4)                           // stored as 32 bytes
			e.Payment = []workflow.Payment{workflow.PaymentOnline, workflow.PaymentCounter, ""}[seed] // stored as a flag
			if seed == 1 {
				e.EventID = "7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6b"                 // stored as 16 bytes
				e.Dossier, e.Agency = "000.00.12.H57-250101-0001", "000.00.12.H57" // stored as a length
			}
			var e2 workflow.HistoryEntry
			if err := decodeEntry(e.Dossier, historyKey(1, e.Index), appendEntry(nil, e), e.PrevHash, &e2); err != nil {
				t.Fatalf("decodeEntry: %v", err)
			}
			if diff := cmp.Diff(e, &e2, sameTime); diff != "" {
				t.Errorf("history entry round trip (-want +got):\n%s", diff)
			}

			r := filled[workflow.Rejection](t, seed)
			var r2 workflow.Rejection
			if err := decodeRejection(appendRejection(nil, r), &r2); err != nil {
				t.Fatalf("decodeRejection: %v", err)
			}
			if diff := cmp.Diff(r, &r2, sameTime); diff != "" {
				t.Errorf("rejection round trip (-want +got):\n%s", diff)
			}

			m := filled[workflow.Mismatch](t, seed)
			var m2 workflow.Mismatch
			if err := decodeMismatch(appendMismatch(nil, m), &m2); err != nil {
				t.Fatalf("decodeMismatch: %v", err)
			}
			if diff := cmp.Diff(m, &m2, sameTime); diff != "" {
				t.Errorf("mismatch round trip (-want +got):\n%s", diff)
			}

			o := filled[workflow.Outcome](t, seed)
			var o2 workflow.Outcome
			if err := decodeOutcome(appendOutcome(nil, o), &o2); err != nil {
				t.Fatalf("decodeOutcome: %v", err)
			}
			if diff := cmp.Diff(o, &o2, sameTime); diff != "" {
				t.Errorf("outcome round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventIDForms round-trips history entries whose event ids are
// UUIDs in canonical text (stored as 16 bytes) and ids that only look
// like one (stored as text).
func TestEventIDForms(t *testing.T) {
	for _, tt := range []struct {
		id   string
		uuid bool
	}{
		{"7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6b", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"7F3C2A10-9B1D-4E2F-8A6B-1C2D3E4F5A6B", false}, // upper case reads back otherwise
		{"7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6", false},
		{"7f3c2a10x9b1d-4e2f-8a6b-1c2d3e4f5a6b", false},
		{"7f3c2a109b1d-4e2f-8a6b-1c2d3e4f5a6b0", false},
		{"7f3c2a10-9b1d-4e2f-8a6b-1c2d3e4f5a6g", false},
		{"000.00.12.H57-250101-0001/3", false},
		{"", false},
	} {
		if _, ok := uuidBytes(tt.id); ok != tt.uuid {
			t.Errorf("uuidBytes(%q) ok = %v, want %v", tt.id, ok, tt.uuid)
		}
		e := &workflow.HistoryEntry{Dossier: "c", EventID: tt.id}
		var e2 workflow.HistoryEntry
		if err := decodeEntry("c", historyKey(1, 0), appendEntry(nil, e), workflow.Hash{}, &e2); err != nil || e2.EventID != tt.id {
			t.Errorf("event id %q round trip = %q, %v", tt.id, e2.EventID, err)
		}
	}
}

// TestRecordRoundTripZero round-trips records with every field zero:
// zero times, nil slices and pointers stay so.
func TestRecordRoundTripZero(t *testing.T) {
	var d workflow.Dossier
	if err := decodeDossier(appendDossier(nil, 1, &workflow.Dossier{}), &d); err != nil || !reflect.ValueOf(d).IsZero() {
		t.Errorf("zero dossier round trip = %+v, %v", d, err)
	}
	var e workflow.HistoryEntry
	if err := decodeEntry("c", historyKey(1, 0), appendEntry(nil, &workflow.HistoryEntry{Dossier: "c"}), workflow.Hash{}, &e); err != nil ||
		!reflect.DeepEqual(e, workflow.HistoryEntry{Dossier: "c"}) {
		t.Errorf("zero history entry round trip = %+v, %v", e, err)
	}
	var o workflow.Outcome
	if err := decodeOutcome(appendOutcome(nil, &workflow.Outcome{}), &o); err != nil || !reflect.ValueOf(o).IsZero() {
		t.Errorf("zero outcome round trip = %+v, %v", o, err)
	}
}

// TestTimeRoundTrip checks the stored form of times far from now, in
// UTC and in other zones.
func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, workflow.Zone),
		time.Date(2025, 6, 1, 8, 0, 0, 0, time.FixedZone("", -(9*3600+30*60))),
		time.Date(2025, 6, 1, 8, 0, 0, 0, workflow.Zone),
	} {
		r := newReader(appendTime([]byte{recordVersion}, tm))
		got := r.time()
		if err := r.done("time"); err != nil || !cmp.Equal(got, tm, sameTime) {
			t.Errorf("time %v round trip = %v, %v", tm, got, err)
		}
		if tm.IsZero() && got != (time.Time{}) {
			t.Errorf("zero time round trip = %#v, want time.Time{}", got)
		}
	}
}

// TestRecordDecodeBad checks that every truncation of a valid record,
// and a few damaged ones, are errors wrapping errBadRecord.
func TestRecordDecodeBad(t *testing.T) {
	e := filled[workflow.HistoryEntry](t, 0)
	k := historyKey(1, e.Index)
	for name, v := range map[string][]byte{
		"dossier":   appendDossier(nil, 1, filled[workflow.Dossier](t, 0)),
		"entry":     appendEntry(nil, e),
		"rejection": appendRejection(nil, filled[workflow.Rejection](t, 0)),
		"mismatch":  appendMismatch(nil, filled[workflow.Mismatch](t, 0)),
		"outcome":   appendOutcome(nil, filled[workflow.Outcome](t, 0)),
	} {
		bad := [][]byte{append(v[:len(v):len(v)], 0), append([]byte{v[0] + 1}, v[1:]...)}
		for n := range len(v) {
			bad = append(bad, v[:n])
		}
		for _, b := range bad {
			errs := decodeAll(k, b)
			if err := errs[name]; !errors.Is(err, errBadRecord) {
				t.Errorf("decode %s of %d bytes of %d (% x) = %v, want errBadRecord", name, len(b), len(v), b, err)
			}
		}
	}
	if err := decodeEntry(e.Dossier, []byte("not 8 bytes"), appendEntry(nil, e), e.PrevHash, e); !errors.Is(err, errBadRecord) {
		t.Errorf("decodeEntry under a bad key = %v, want errBadRecord", err)
	}
	// A dossier id is 1 to math.MaxUint32.
	d := filled[workflow.Dossier](t, 0)
	for _, id := range []uint64{0, math.MaxUint32 + 1} {
		v := appendDossier(nil, 1, d)
		v = append(binary.AppendUvarint([]byte{dossierVersion}, id), v[2:]...)
		if err := decodeDossier(v, new(workflow.Dossier)); !errors.Is(err, errBadRecord) {
			t.Errorf("decodeDossier(id %d) = %v, want errBadRecord", id, err)
		}
		if _, err := dossierIDOf(v); !errors.Is(err, errBadRecord) {
			t.Errorf("dossierIDOf(id %d) = %v, want errBadRecord", id, err)
		}
	}
	if id, err := dossierIDOf(appendDossier(nil, math.MaxUint32, d)); err != nil || id != math.MaxUint32 {
		t.Errorf("dossierIDOf(the last id) = %d, %v", id, err)
	}
}

// decodeAll decodes b as each kind of record and returns the errors.
func decodeAll(k, b []byte) map[string]error {
	return map[string]error{
		"dossier":   decodeDossier(b, new(workflow.Dossier)),
		"entry":     decodeEntry("000.00.12.H57-250101-0001", k, b, workflow.Hash{7}, new(workflow.HistoryEntry)),
		"rejection": decodeRejection(b, new(workflow.Rejection)),
		"mismatch":  decodeMismatch(b, new(workflow.Mismatch)),
		"outcome":   decodeOutcome(b, new(workflow.Outcome)),
	}
}

// FuzzRecordDecode decodes arbitrary bytes as every kind of record: it
// must return an error or a value that encodes to a record decoding to
// the same value, never panic.
func FuzzRecordDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		const code = "000.00.12.H57-250101-0001"
		k := historyKey(1, 3)
		check := func(kind string, err error, reencode func() error) {
			if err != nil {
				if !errors.Is(err, errBadRecord) {
					t.Errorf("decode %s = %v, want an error wrapping errBadRecord", kind, err)
				}
				return
			}
			if err := reencode(); err != nil {
				t.Error(err)
			}
		}
		var d workflow.Dossier
		id, err := decodeDossierID(b, &d)
		check("dossier", err, func() error {
			var d2 workflow.Dossier
			if id2, err := decodeDossierID(appendDossier(nil, id, &d), &d2); err != nil || id2 != id || !cmp.Equal(d, d2, sameTime) {
				return fmt.Errorf("dossier %+v re-encoded reads %+v, %v", d, d2, err)
			}
			return nil
		})
		var e workflow.HistoryEntry
		check("entry", decodeEntry(code, k, b, workflow.Hash{7}, &e), func() error {
			var e2 workflow.HistoryEntry
			if err := decodeEntry(code, k, appendEntry(nil, &e), e.PrevHash, &e2); err != nil || !cmp.Equal(e, e2, sameTime) {
				return fmt.Errorf("entry %+v re-encoded reads %+v, %v", e, e2, err)
			}
			return nil
		})
		var r workflow.Rejection
		check("rejection", decodeRejection(b, &r), func() error {
			var r2 workflow.Rejection
			if err := decodeRejection(appendRejection(nil, &r), &r2); err != nil || !cmp.Equal(r, r2, sameTime) {
				return fmt.Errorf("rejection %+v re-encoded reads %+v, %v", r, r2, err)
			}
			return nil
		})
		var m workflow.Mismatch
		check("mismatch", decodeMismatch(b, &m), func() error {
			var m2 workflow.Mismatch
			if err := decodeMismatch(appendMismatch(nil, &m), &m2); err != nil || !cmp.Equal(m, m2, sameTime) {
				return fmt.Errorf("mismatch %+v re-encoded reads %+v, %v", m, m2, err)
			}
			return nil
		})
		var o workflow.Outcome
		check("outcome", decodeOutcome(b, &o), func() error {
			var o2 workflow.Outcome
			if err := decodeOutcome(appendOutcome(nil, &o), &o2); err != nil || !cmp.Equal(o, o2, sameTime) {
				return fmt.Errorf("outcome %+v re-encoded reads %+v, %v", o, o2, err)
			}
			return nil
		})
	})
}

// TestDossierLookupForm: the lookup digest is the last 32 bytes of a
// dossier record, after a flag of its facts byte, and a record without
// one is the record of before digests existed; the flag with a zero
// digest, or on a history entry, is a bad record.
func TestDossierLookupForm(t *testing.T) {
	d := filled[workflow.Dossier](t, 0)
	d.Lookup = [32]byte{}
	plain := appendDossier(nil, 1, d)
	d.Lookup = [32]byte{1, 2, 3, 31: 0xff}
	with := appendDossier(nil, 1, d)
	// The facts byte is the last before the optional facts; the digest
	// adds the flag 0x10 and 32 bytes at the end.
	if len(with) != len(plain)+32 || string(with[len(plain):]) != string(d.Lookup[:]) {
		t.Fatalf("record with a digest = % x, want the record without (% x) and the digest", with, plain)
	}
	var got workflow.Dossier
	if err := decodeDossier(with, &got); err != nil || got.Lookup != d.Lookup {
		t.Errorf("decodeDossier(with a digest) = %x, %v, want %x", got.Lookup, err, d.Lookup)
	}
	// Decoding into a dossier that had a digest clears it.
	if err := decodeDossier(plain, &got); err != nil || got.Lookup != [32]byte{} {
		t.Errorf("decodeDossier(without a digest) into a dossier with one = %x, %v, want none", got.Lookup, err)
	}
	zeros := append(append([]byte(nil), with[:len(plain)]...), make([]byte, 32)...)
	if err := decodeDossier(zeros, new(workflow.Dossier)); !errors.Is(err, errBadRecord) {
		t.Errorf("decodeDossier(a flagged digest of zeros) = %v, want errBadRecord", err)
	}
	// A history entry holds no digest: the flag is unknown there.
	e := filled[workflow.HistoryEntry](t, 0)
	e.Channel, e.Payment, e.Satisfaction = "", "", 0
	v := appendEntry(nil, e)
	facts := len(v) - 1 - len(e.Hash) // the entry's facts byte, before its hash
	if v[facts] != 0 {
		t.Fatalf("entry without facts has facts byte %#x", v[facts])
	}
	v[facts] = factLookup
	if err := decodeEntry(e.Dossier, historyKey(1, e.Index), v, e.PrevHash, new(workflow.HistoryEntry)); !errors.Is(err, errBadRecord) {
		t.Errorf("decodeEntry(with the lookup flag) = %v, want errBadRecord", err)
	}
}
