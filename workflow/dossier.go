package workflow

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Dossier is the authoritative state of one dossier (hồ sơ): the state its
// accepted events led to under the definition version it is pinned to.
type Dossier struct {
	Code        string    `json:"code"`
	Procedure   string    `json:"procedure"`
	Agency      string    `json:"agency"`
	Source      string    `json:"source"`      // source token of the event that created it
	Definition  string    `json:"definition"`  // definition id it is pinned to
	Version     int       `json:"version"`     // definition version it is pinned to
	State       string    `json:"state"`       // state name in the definition
	Status      Status    `json:"status"`      // national status code of State
	Terminal    bool      `json:"terminal"`    // State is terminal
	Department  string    `json:"department"`  // department handling it now; "" until one is named
	Due         time.Time `json:"due"`         // due date (NgayHenTra); zero until set
	ReceivedAt  time.Time `json:"received_at"` // first entry into status 2; zero until then
	CreatedAt   time.Time `json:"created_at"`  // time of the first accepted event
	UpdatedAt   time.Time `json:"updated_at"`  // time of the last accepted event
	ResolvedAt  time.Time `json:"resolved_at"` // processing ended (NgayKetThucXuLy): first entry into status 9; zero until then
	ReturnedAt  time.Time `json:"returned_at"` // result returned (NgayTra): entry into status 10; zero until then
	PausedAt    time.Time `json:"paused_at"`   // the statutory clock stopped then (supplement, payment); zero while it runs
	Apologies   int       `json:"apologies"`   // times an apology moved the due date
	Warned      bool      `json:"warned"`      // a deadline warning was recorded for the current due date
	Overdue     bool      `json:"overdue"`     // the current due date passed while the clock ran (a deadline expiry was recorded)
	Attachments []string  `json:"attachments"` // sorted kinds of every attachment accepted so far
	History     int       `json:"history"`     // number of history entries
	Head        Hash      `json:"head"`        // hash of the last history entry
	Rejections  int       `json:"rejections"`  // rejected events that named this dossier
	Mismatches  int       `json:"mismatches"`  // events whose claimed status was wrong
}

// HasAttachment reports whether an accepted event attached the kind.
func (d *Dossier) HasAttachment(kind string) bool {
	_, ok := slices.BinarySearch(d.Attachments, kind)
	return ok
}

// ClockRunning reports whether the statutory clock runs: the dossier has a
// due date, is not finished and is not waiting for the applicant.
func (d *Dossier) ClockRunning() bool {
	return !d.Due.IsZero() && !d.Terminal && d.PausedAt.IsZero() && d.ResolvedAt.IsZero()
}

// Timing says when something happened relative to a due date, by calendar
// date in Vietnam as the provinces report it: before the due date is early,
// on it is on time, after it is late.
type Timing string

// The timings.
const (
	TimingEarly  Timing = "early"
	TimingOnTime Timing = "on_time"
	TimingLate   Timing = "late"
)

// TimingOf compares the date of at with the date of due; "" when due is zero.
func TimingOf(at, due time.Time) Timing {
	if due.IsZero() {
		return ""
	}
	a, d := at.In(Zone), due.In(Zone)
	ay, am, ad := a.Date()
	dy, dm, dd := d.Date()
	switch ka, kd := ay*10000+int(am)*100+ad, dy*10000+int(dm)*100+dd; {
	case ka < kd:
		return TimingEarly
	case ka == kd:
		return TimingOnTime
	}
	return TimingLate
}

// Clone returns a deep copy of d.
func (d *Dossier) Clone() *Dossier {
	c := *d
	c.Attachments = slices.Clone(d.Attachments)
	return &c
}

// Hash is a SHA-256 digest. It marshals to JSON as lowercase hex.
type Hash [32]byte

// IsZero reports whether h is all zero bytes (the previous hash of a first entry).
func (h Hash) IsZero() bool { return h == Hash{} }

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hash from hex.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("hash: want 64 hex digits, got %d", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// HistoryEntry is one accepted transition of a dossier: a line of its
// control sheet (phiếu kiểm soát quá trình giải quyết hồ sơ). Entries are
// chained: each Hash covers the entry's content and PrevHash.
type HistoryEntry struct {
	Dossier    string    `json:"dossier"`
	Index      int       `json:"index"` // 0 for the first entry
	Seq        uint64    `json:"seq"`   // stream sequence of the event
	EventID    string    `json:"event_id"`
	Source     string    `json:"source"`
	Action     string    `json:"action"`
	From       string    `json:"from"` // state before; StartState for the first entry
	To         string    `json:"to"`
	FromStatus Status    `json:"from_status"` // zero for the first entry
	ToStatus   Status    `json:"to_status"`
	Time       time.Time `json:"time"` // when it happened in the one-stop-shop
	Actor      string    `json:"actor"`
	Agency     string    `json:"agency"`
	Department string    `json:"department,omitempty"` // department after the action
	Reason     string    `json:"reason,omitempty"`
	Note       string    `json:"note,omitempty"`
	Due        time.Time `json:"due"` // due date after the action; zero if none
	// Timing is when the action happened relative to the due date in force
	// before it; "" when there was none.
	Timing      Timing       `json:"timing,omitempty"`
	Attachments []Attachment `json:"attachments"`
	PrevHash    Hash         `json:"prev_hash"`
	Hash        Hash         `json:"hash"`
}

// hashDomain separates hoso's history hashes from any other SHA-256 use.
const hashDomain = "hoso-history-v1"

// ComputeHash returns the hash the entry must carry: SHA-256 over PrevHash
// followed by the canonical encoding of the content. The encoding is a
// sequence of fields, each a 4-byte big-endian length followed by the bytes:
// the text "hoso-history-v1", dossier, index, seq, event id, source, action,
// from, to, from status, to status, time, actor, agency, department, reason,
// note, due, timing, the number of attachments, then kind, name and sha256
// of each.
// Numbers are decimal text; times are RFC 3339 with nanoseconds in UTC, or
// empty when zero. docs/contract.md gives the same recipe for auditors.
func (e *HistoryEntry) ComputeHash() Hash {
	h := sha256.New()
	h.Write(e.PrevHash[:])
	var buf [4]byte
	field := func(s string) {
		binary.BigEndian.PutUint32(buf[:], uint32(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	field(hashDomain)
	field(e.Dossier)
	field(strconv.Itoa(e.Index))
	field(strconv.FormatUint(e.Seq, 10))
	field(e.EventID)
	field(e.Source)
	field(e.Action)
	field(e.From)
	field(e.To)
	field(strconv.Itoa(int(e.FromStatus)))
	field(strconv.Itoa(int(e.ToStatus)))
	field(ts(e.Time))
	field(e.Actor)
	field(e.Agency)
	field(e.Department)
	field(e.Reason)
	field(e.Note)
	field(ts(e.Due))
	field(string(e.Timing))
	field(strconv.Itoa(len(e.Attachments)))
	for _, a := range e.Attachments {
		field(a.Kind)
		field(a.Name)
		field(a.SHA256)
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// ChainReport is the result of verifying a dossier's history chain.
type ChainReport struct {
	Dossier string `json:"dossier"`
	Entries int    `json:"entries"` // entries checked
	OK      bool   `json:"ok"`
	// BrokenAt is the index of the first entry that does not verify; -1 when OK.
	BrokenAt int    `json:"broken_at"`
	Problem  string `json:"problem,omitempty"` // what is wrong at BrokenAt
	Head     Hash   `json:"head"`              // hash of the last entry checked
}

// VerifyChain recomputes the chain of a dossier's entries, in index order,
// and checks it against the head hash and length the dossier records.
func VerifyChain(d *Dossier, entries []HistoryEntry) ChainReport {
	r := ChainReport{Dossier: d.Code, Entries: len(entries), OK: true, BrokenAt: -1}
	var prev Hash
	fail := func(i int, format string, args ...any) ChainReport {
		r.OK, r.BrokenAt, r.Problem = false, i, fmt.Sprintf(format, args...)
		return r
	}
	for i := range entries {
		e := &entries[i]
		switch {
		case e.Index != i:
			return fail(i, "entry %d has index %d", i, e.Index)
		case e.Dossier != d.Code:
			return fail(i, "entry %d belongs to dossier %q", i, e.Dossier)
		case e.PrevHash != prev:
			return fail(i, "entry %d: previous hash %s, want %s", i, e.PrevHash, prev)
		}
		if got := e.ComputeHash(); got != e.Hash {
			return fail(i, "entry %d: content hashes to %s, recorded %s", i, got, e.Hash)
		}
		prev = e.Hash
	}
	r.Head = prev
	if len(entries) != d.History {
		return fail(len(entries), "dossier records %d entries, found %d", d.History, len(entries))
	}
	if prev != d.Head {
		return fail(max(len(entries)-1, 0), "dossier head is %s, chain ends at %s", d.Head, prev)
	}
	return r
}
