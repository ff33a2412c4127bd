package workflow_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/workflow"
)

// The worked example of docs/contract.md ("data.lookup"), its digest
// computed apart from hoso, with both
//
//	printf '000.00.12.H57-250804-0001\nK7M2X9P4QR' | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f
//	python3 -c "import hmac,hashlib; print(hmac.new(bytes(range(32)), b'000.00.12.H57-250804-0001\nK7M2X9P4QR', hashlib.sha256).hexdigest())"
const (
	exampleKey    = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	exampleCode   = "000.00.12.H57-250804-0001"
	exampleSecret = "k7m2-x9p4 qr"
	exampleNorm   = "K7M2X9P4QR"
	exampleDigest = "517a0aeae5be370033877fcf1c6dbad84934db0e46c4a1d0a175b6d8d5cdd939"
)

func exampleLookupKey(t testing.TB) []byte {
	t.Helper()
	key, err := workflow.ParseLookupKey([]byte(exampleKey + "\n"))
	if err != nil {
		t.Fatalf("ParseLookupKey(example) = %v", err)
	}
	return key
}

func TestLookupDigestWorkedExample(t *testing.T) {
	key := exampleLookupKey(t)
	if got := workflow.NormalizeLookupSecret(exampleSecret); got != exampleNorm {
		t.Errorf("NormalizeLookupSecret(%q) = %q, want %q", exampleSecret, got, exampleNorm)
	}
	d := workflow.LookupDigest(key, exampleCode, exampleSecret)
	if got := hex.EncodeToString(d[:]); got != exampleDigest {
		t.Errorf("LookupDigest(example) = %s, want %s", got, exampleDigest)
	}
	// The code is bound in: the same secret gives another dossier
	// another digest.
	other := workflow.LookupDigest(key, "000.00.12.H57-250804-0002", exampleSecret)
	if other == d {
		t.Errorf("LookupDigest of two codes with one secret are equal: %x", d)
	}
	// So is the key.
	key2 := append([]byte(nil), key...)
	key2[0] ^= 1
	if workflow.LookupDigest(key2, exampleCode, exampleSecret) == d {
		t.Errorf("LookupDigest under two keys are equal: %x", d)
	}
}

func TestNormalizeLookupSecret(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ab12-cd34", "AB12CD34"},
		{"AB12 CD34", "AB12CD34"},
		{" - a-b - ", "AB"},
		{"4321", "4321"},
		{"x/y.z_9", "X/Y.Z_9"},
		{"\tab", "\tAB"}, // only spaces and hyphens go
		{"ưa", "ưA"},     // only ASCII letters are upper-cased
		{"", ""},
	} {
		if got := workflow.NormalizeLookupSecret(c.in); got != c.want {
			t.Errorf("NormalizeLookupSecret(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCheckLookupSecret(t *testing.T) {
	for _, c := range []struct {
		secret string
		ok     bool
	}{
		{"4321", true},                   // 4 characters: the shortest
		{"432", false},                   // 3
		{"4-3 2", false},                 // 3 once normalized
		{"12 34", true},                  // 4 once normalized
		{strings.Repeat("A", 64), true},  // the longest
		{strings.Repeat("A", 65), false}, // one more
		{strings.Repeat("A", 64) + " -", true},
		{"abcd~!", true},
		{"ab\tcd", false},   // a control character
		{"abcđe", false},    // a letter with a diacritic
		{"ab\x7fcd", false}, // DEL
		{"", false},
	} {
		err := workflow.CheckLookupSecret(c.secret)
		if (err == nil) != c.ok {
			t.Errorf("CheckLookupSecret(%q) = %v, want ok %t", c.secret, err, c.ok)
		}
		if err != nil && !errors.Is(err, workflow.ErrLookupSecret) {
			t.Errorf("CheckLookupSecret(%q) = %v, want it to wrap ErrLookupSecret", c.secret, err)
		}
	}
}

func TestParseLookupKey(t *testing.T) {
	k31, k32, k64, k65 := strings.Repeat("ab", 31), strings.Repeat("AB", 32), strings.Repeat("0f", 64), strings.Repeat("0f", 65)
	for _, c := range []struct {
		text string
		want int // bytes; 0 for an error
	}{
		{k32, 32},
		{k32 + "\n", 32},
		{"  " + k32 + "\r\n", 32},
		{k64, 64},
		{k31, 0},             // 31 bytes: too short
		{k65, 0},             // 65 bytes: too long
		{k32 + "a", 0},       // an odd number of digits
		{k32[:62] + "zz", 0}, // not hex
		{k32[:32] + "\n" + k32[32:], 0},
		{"", 0},
		{" \n", 0},
	} {
		key, err := workflow.ParseLookupKey([]byte(c.text))
		switch {
		case c.want == 0 && err == nil:
			t.Errorf("ParseLookupKey(%q) = %x, want an error", c.text, key)
		case c.want == 0 && !errors.Is(err, workflow.ErrLookupKey):
			t.Errorf("ParseLookupKey(%q) = %v, want it to wrap ErrLookupKey", c.text, err)
		case c.want != 0 && (err != nil || len(key) != c.want):
			t.Errorf("ParseLookupKey(%q) = %d bytes, %v, want %d bytes", c.text, len(key), err, c.want)
		}
	}
	key, _ := workflow.ParseLookupKey([]byte(k32))
	if got := hex.EncodeToString(key); got != strings.ToLower(k32) {
		t.Errorf("ParseLookupKey(%s) = %s", k32, got)
	}
}

func TestParseLookup(t *testing.T) {
	want, _ := hex.DecodeString(exampleDigest)
	for _, s := range []string{exampleDigest, strings.ToUpper(exampleDigest)} {
		d, err := workflow.ParseLookup(s)
		if err != nil || string(d[:]) != string(want) {
			t.Errorf("ParseLookup(%q) = %x, %v, want %s", s, d, err, exampleDigest)
		}
	}
	for _, s := range []string{"", exampleDigest[:63], exampleDigest + "0", exampleDigest[:63] + "g", strings.Repeat("0", 64)} {
		if d, err := workflow.ParseLookup(s); err == nil {
			t.Errorf("ParseLookup(%q) = %x, want an error", s, d)
		}
	}
}

func TestLookupMatches(t *testing.T) {
	key := exampleLookupKey(t)
	d := &workflow.Dossier{Code: exampleCode, Lookup: workflow.LookupDigest(key, exampleCode, exampleSecret)}
	for _, c := range []struct {
		secret string
		want   bool
	}{
		{exampleSecret, true},
		{"K7M2 X9P4 QR", true},
		{"k7m2x9p4qr", true},
		{"K7M2X9P4QS", false},
		{"K7M2X9P4Q", false},
		{"", false},
	} {
		if got := d.LookupMatches(key, c.secret); got != c.want {
			t.Errorf("LookupMatches(%q) = %t, want %t", c.secret, got, c.want)
		}
	}
	if (&workflow.Dossier{Code: exampleCode}).LookupMatches(key, exampleSecret) {
		t.Errorf("LookupMatches on a dossier without a digest = true")
	}
	// A digest of an invalid secret never matches, even when it is the
	// record's.
	weak := &workflow.Dossier{Code: exampleCode, Lookup: workflow.LookupDigest(key, exampleCode, "12")}
	if weak.LookupMatches(key, "12") {
		t.Errorf("LookupMatches(%q) of a 2-character secret = true", "12")
	}
}

// TestDecideKeepsLastLookup follows a dossier's digest through accepted
// and rejected events: the last accepted event that gives one sets it, an
// event without one keeps it, a rejected one changes nothing, and the
// digest changes nothing else of the decision.
func TestDecideKeepsLastLookup(t *testing.T) {
	c := shipped(t)
	key := exampleLookupKey(t)
	first := workflow.LookupDigest(key, exampleCode, "AAAA1111")
	second := workflow.LookupDigest(key, exampleCode, "BBBB2222")
	ev := func(action string, minute int, lookup [32]byte) *workflow.Event {
		e := fullEvent(action)
		e.ID, e.Dossier, e.Time, e.Lookup = action+"-"+exampleCode, exampleCode, t0.Add(time.Duration(minute)*time.Minute), lookup
		return e
	}

	recv := decide(c, nil, ev("receive", 0, first))
	if recv.Rejection != nil {
		t.Fatalf("receive rejected: %v", recv.Rejection.MessageEN())
	}
	if recv.Dossier.Lookup != first {
		t.Errorf("after receive with a digest: Lookup = %x, want %x", recv.Dossier.Lookup, first)
	}
	// The same event without a digest decides the same, entry hash
	// included: the digest is in no history entry.
	plain := decide(c, nil, ev("receive", 0, [32]byte{}))
	if diff := cmp.Diff(plain.Entry, recv.Entry); diff != "" {
		t.Errorf("the history entry depends on data.lookup (-without +with):\n%s", diff)
	}
	if plain.Dossier.Lookup != ([32]byte{}) {
		t.Errorf("after receive without a digest: Lookup = %x, want none", plain.Dossier.Lookup)
	}
	withoutLookup := *recv.Dossier
	withoutLookup.Lookup = [32]byte{}
	if diff := cmp.Diff(plain.Dossier, &withoutLookup); diff != "" {
		t.Errorf("the dossier depends on data.lookup beside its Lookup (-without +with):\n%s", diff)
	}

	assign := decide(c, recv.Dossier, ev("assign", 1, [32]byte{}))
	if assign.Rejection != nil || assign.Dossier.Lookup != first {
		t.Errorf("after assign without a digest: Lookup = %x (rejection %v), want %x kept", assign.Dossier.Lookup, assign.Rejection, first)
	}
	// A rejected event (return from processing) with a new digest
	// changes nothing.
	bad := decide(c, assign.Dossier, ev("return", 2, second))
	if bad.Rejection == nil {
		t.Fatalf("return from processing accepted")
	}
	if bad.Dossier.Lookup != first {
		t.Errorf("after a rejected event with a new digest: Lookup = %x, want %x kept", bad.Dossier.Lookup, first)
	}
	// A reprinted receipt: the next accepted event's digest replaces it.
	transfer := decide(c, bad.Dossier, ev("transfer", 3, second))
	if transfer.Rejection != nil || transfer.Dossier.Lookup != second {
		t.Errorf("after transfer with a new digest: Lookup = %x (rejection %v), want %x", transfer.Dossier.Lookup, transfer.Rejection, second)
	}
	if assign.Dossier.Lookup != first {
		t.Errorf("Decide changed the stored dossier's Lookup to %x", assign.Dossier.Lookup)
	}
}

// TestDossierJSONHidesLookup: a dossier's JSON never holds its digest.
func TestDossierJSONHidesLookup(t *testing.T) {
	d := workflow.Dossier{Code: exampleCode, Lookup: workflow.LookupDigest(exampleLookupKey(t), exampleCode, exampleSecret)}
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, exampleDigest) || strings.Contains(s, "lookup") || strings.Contains(s, "81,122,10") {
		t.Errorf("json.Marshal(dossier) = %s, shows its lookup digest", s)
	}
}

// TestLookupContractExample: docs/contract.md's worked example is the
// one this file checks LookupDigest against.
func TestLookupContractExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		"| key (hex) | `" + exampleKey + "` |",
		"| dossier code | `" + exampleCode + "` |",
		"| secret as printed | `" + exampleSecret + "` |",
		"| normalized secret | `" + exampleNorm + "` |",
		"| `data.lookup` | `" + exampleDigest + "` |",
	} {
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/contract.md lacks the worked example's row %s", row)
		}
	}
}
