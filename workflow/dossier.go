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
	Code       string    `json:"code"`
	Procedure  string    `json:"procedure"`
	Agency     string    `json:"agency"`
	Source     string    `json:"source"`     // source token of the event that created it
	Definition string    `json:"definition"` // definition id it is pinned to
	Version    int       `json:"version"`    // definition version it is pinned to
	State      string    `json:"state"`      // state name in the definition
	Status     Status    `json:"status"`     // national status code of State
	Terminal   bool      `json:"terminal"`   // State is terminal
	Department string    `json:"department"` // department handling it now; "" until one is named
	Due        time.Time `json:"due"`        // due date in force (NgayHenTra, or an apology's new date); zero until set
	// OriginalDue is the due date without apologies: form 01's
	// appointment, moved only by the statutory clock's pauses and
	// restarts. Lateness is judged against it; zero while Due is.
	OriginalDue time.Time `json:"original_due"`
	ReceivedAt  time.Time `json:"received_at"`  // first entry into status 2; zero until then
	CreatedAt   time.Time `json:"created_at"`   // time of the first accepted event
	UpdatedAt   time.Time `json:"updated_at"`   // time of the last accepted event
	ResolvedAt  time.Time `json:"resolved_at"`  // processing ended (NgayKetThucXuLy): first entry into status 9; zero until then
	ReturnedAt  time.Time `json:"returned_at"`  // result returned (NgayTra): entry into status 10; zero until then
	PausedAt    time.Time `json:"paused_at"`    // the statutory clock stopped then (supplement, payment); zero while it runs
	Apologies   int       `json:"apologies"`    // times an apology moved the due date
	Supplements int       `json:"supplements"`  // times a supplement was requested (entries into status 5)
	LateEntries int       `json:"late_entries"` // accepted events recorded as late entries (IrregularLateEntry)
	Warned      bool      `json:"warned"`       // a deadline warning was recorded for the current due date
	Overdue     bool      `json:"overdue"`      // the current due date passed while the clock ran (a deadline expiry was recorded)
	Attachments []string  `json:"attachments"`  // sorted kinds of every attachment accepted so far
	History     int       `json:"history"`      // number of history entries
	Head        Hash      `json:"head"`         // hash of the last history entry
	Rejections  int       `json:"rejections"`   // rejected events that named this dossier
	Mismatches  int       `json:"mismatches"`   // events whose claimed status was wrong
	// Online: submitted online, its first accepted event put it in status
	// 1 (Mới đăng ký) rather than receiving it at the desk.
	Online bool `json:"online"`
	// Channel is the channel data.channel gave on the event that created
	// or received the dossier, the first one given; "" when none did (see
	// IntakeChannel).
	Channel Channel `json:"channel,omitempty"`
	// PaidOnline and PaidCounter: an accepted event recorded a payment
	// (data.payment) online, at the counter.
	PaidOnline  bool `json:"paid_online"`
	PaidCounter bool `json:"paid_counter"`
	// Satisfaction is the applicant's rating (data.satisfaction, 1–5) the
	// last accepted event that gave one recorded; 0 when none did.
	Satisfaction int `json:"satisfaction,omitempty"`
	// Lookup is the lookup digest (data.lookup, LookupDigest) the last
	// accepted event that gave one recorded; zero when none did. It is
	// never shown: it has no JSON, and no history entry holds it, so the
	// history's hashes do not cover it. The store keeps it with the
	// record, and the state hash covers it.
	Lookup [32]byte `json:"-"`
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

// Timing says when something happened relative to a due instant, the one
// rule by which hoso flags a dossier overdue and counts it late: after the
// due instant is late (the deadline expiry fires at it); at or before it,
// on the due instant's date in Vietnam is on time, on an earlier date
// early. A due date given as a date is due at the end of that day's
// working hours (Calendar.EndOfDay), so all of its day is on time.
type Timing string

// The timings.
const (
	TimingEarly  Timing = "early"
	TimingOnTime Timing = "on_time"
	TimingLate   Timing = "late"
)

// TimingOf says when at is relative to the due instant; "" when due is
// zero.
func TimingOf(at, due time.Time) Timing {
	if due.IsZero() {
		return ""
	}
	if at.After(due) {
		return TimingLate
	}
	a, d := at.In(Zone), due.In(Zone)
	ay, am, ad := a.Date()
	dy, dm, dd := d.Date()
	if ay*10000+int(am)*100+ad < dy*10000+int(dm)*100+dd {
		return TimingEarly
	}
	return TimingOnTime
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
	// Channel is the data.channel the event gave the dossier (on the
	// event that created or received it, when none was given before); ""
	// otherwise.
	Channel Channel `json:"channel,omitempty"`
	// Payment is the data.payment the event gave: a payment it records;
	// "" when none.
	Payment Payment `json:"payment,omitempty"`
	// Satisfaction is the data.satisfaction the event gave (1–5) on a
	// dossier that existed before it; 0 when none.
	Satisfaction int  `json:"satisfaction,omitempty"`
	PrevHash     Hash `json:"prev_hash"`
	Hash         Hash `json:"hash"`
}

// hashDomain separates hoso's history hashes from any other SHA-256 use.
const hashDomain = "hoso-history-v1"

// ComputeHash returns the hash the entry must carry: SHA-256 over PrevHash
// followed by the canonical encoding of the content. The encoding is a
// sequence of fields, each a 4-byte big-endian length followed by the bytes:
// the text "hoso-history-v1", dossier, index, seq, event id, source, action,
// from, to, from status, to status, time, actor, agency, department, reason,
// note, due, timing, the number of attachments, then kind, name and sha256
// of each; then, only when the entry records any fact (a channel, a
// payment or a satisfaction score), the text "facts", the channel, the
// payment and the score (0 when none).
// Numbers are decimal text; times are RFC 3339 with nanoseconds in UTC, or
// empty when zero. docs/contract.md gives the same recipe for auditors.
func (e *HistoryEntry) ComputeHash() Hash {
	// The whole encoding is built in one buffer, on the stack for any
	// ordinary entry, and hashed at once: chain verification calls this
	// for every entry of the store.
	var buf [1024]byte
	b := append(buf[:0], e.PrevHash[:]...)
	b = appendHashField(b, hashDomain)
	b = appendHashField(b, e.Dossier)
	b = appendHashInt(b, int64(e.Index))
	b = appendHashUint(b, e.Seq)
	b = appendHashField(b, e.EventID)
	b = appendHashField(b, e.Source)
	b = appendHashField(b, e.Action)
	b = appendHashField(b, e.From)
	b = appendHashField(b, e.To)
	b = appendHashInt(b, int64(e.FromStatus))
	b = appendHashInt(b, int64(e.ToStatus))
	b = appendHashTime(b, e.Time)
	b = appendHashField(b, e.Actor)
	b = appendHashField(b, e.Agency)
	b = appendHashField(b, e.Department)
	b = appendHashField(b, e.Reason)
	b = appendHashField(b, e.Note)
	b = appendHashTime(b, e.Due)
	b = appendHashField(b, string(e.Timing))
	b = appendHashInt(b, int64(len(e.Attachments)))
	for i := range e.Attachments {
		a := &e.Attachments[i]
		b = appendHashField(b, a.Kind)
		b = appendHashField(b, a.Name)
		b = appendHashField(b, a.SHA256)
	}
	if e.Channel != "" || e.Payment != "" || e.Satisfaction != 0 {
		// Facts of the dossier an event records beside its transition.
		// Only entries that record one have the fields, so the hash of
		// every other entry keeps the recipe it had without them.
		b = appendHashField(b, "facts")
		b = appendHashField(b, string(e.Channel))
		b = appendHashField(b, string(e.Payment))
		b = appendHashInt(b, int64(e.Satisfaction))
	}
	return sha256.Sum256(b)
}

// appendHashField appends a field of ComputeHash's encoding: the 4-byte
// big-endian length of s, then s.
func appendHashField(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

// appendHashInt appends n as a field of decimal text.
func appendHashInt(b []byte, n int64) []byte {
	b = append(b, 0, 0, 0, 0)
	start := len(b)
	b = strconv.AppendInt(b, n, 10)
	binary.BigEndian.PutUint32(b[start-4:], uint32(len(b)-start))
	return b
}

// appendHashUint appends n as a field of decimal text.
func appendHashUint(b []byte, n uint64) []byte {
	b = append(b, 0, 0, 0, 0)
	start := len(b)
	b = strconv.AppendUint(b, n, 10)
	binary.BigEndian.PutUint32(b[start-4:], uint32(len(b)-start))
	return b
}

// appendHashTime appends t as a field: RFC 3339 with nanoseconds in UTC,
// or empty when zero.
func appendHashTime(b []byte, t time.Time) []byte {
	b = append(b, 0, 0, 0, 0)
	if t.IsZero() {
		return b
	}
	start := len(b)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	binary.BigEndian.PutUint32(b[start-4:], uint32(len(b)-start))
	return b
}

// ChainReport is the result of verifying a dossier: its history chain
// and, when a store verifies it, its record against the history and the
// store's other records (Findings).
type ChainReport struct {
	Dossier string `json:"dossier"`
	Entries int    `json:"entries"` // entries checked
	// OK: the chain verifies and nothing was found wrong (no Findings).
	OK bool `json:"ok"`
	// BrokenAt is the index of the first entry that does not verify; -1 when OK.
	BrokenAt int    `json:"broken_at"`
	Problem  string `json:"problem,omitempty"` // what is wrong at BrokenAt
	Head     Hash   `json:"head"`              // hash of the last entry checked
	// Findings are what is wrong besides the chain: the record's fields
	// that disagree with the history (Catalog.CheckRecord), its index keys
	// and its counts of rejections and mismatches; nil when none.
	Findings []Finding `json:"findings,omitempty"`
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
