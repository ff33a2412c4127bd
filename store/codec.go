package store

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Records (dossiers, history entries, rejections, mismatches, outcomes)
// are stored in a compact binary form written by the append* functions
// and read by the decode* functions of this file, the only code that
// knows it. JSON took a third of Apply's time, and three times the bytes:
// a dossier of a ten-step flow is 233 bytes here and 724 in JSON, a
// history entry 162 and 581 (BenchmarkStoreSize's stream).
//
// A record is its format version (one byte, recordVersion; for a dossier
// dossierVersion and its id) followed by its fields in the order of the
// struct, each as:
//
//	string, []byte    uvarint length, then the bytes
//	int, Status       signed varint (zig-zag)
//	uint64            uvarint
//	bools             one byte of flags per record
//	Hash              32 bytes
//	time.Time         one byte of flags (0: the zero time; 1: set; 2: a
//	                  nanosecond part follows; 4: a zone offset follows),
//	                  then signed varint Unix seconds, uvarint nanoseconds,
//	                  signed varint offset in seconds east of UTC
//	slices            uvarint count, then the elements
//
// Reason, Timing and OutcomeKind are stored as their strings, so that no
// table can silently remap them. A time keeps its instant and its zone
// offset but not the zone's name, as JSON did: a time read back is in UTC
// or in a fixed zone of that offset. A history entry's index is that of
// its key (historyKey), its dossier the one whose record holds the key's
// id, and its previous hash is the hash of
// the entry before it, none of them repeated in the value. Its hash
// covers all three: an entry moved to another key, or an entry changed
// and given the hash of its new content, breaks the chain at the next
// entry as surely as a stored previous hash would. Three of an entry's
// strings have a compact form beside the plain one, chosen only when it
// reads back as the very same string: an event id that is a UUID in
// canonical lowercase text (16 bytes), an agency that starts the dossier
// code (its length), an attachment digest of 64 lowercase hex digits
// (32 bytes).
//
// Decoding validates as it goes: a truncated record, a length past the
// end, an unknown version or flag, or trailing bytes are errors wrapping
// errBadRecord, never a panic. Changing the form means a new
// recordVersion or a new schemaVersion (keys.go).

// recordVersion is the first byte of every record but a dossier's.
const recordVersion = 1

// dossierVersion is the first byte of a dossier record. Version 2 (schema
// 7) follows it with the dossier's id (uvarint, 1 or more), then the
// fields of version 1 (recordVersion), which schema 6 wrote without an
// id: upgradeRecord turns one into the other.
const dossierVersion = 2

// errBadRecord is wrapped by every error decoding a record.
var errBadRecord = errors.New("bad record")

// Flags of a stored time.
const (
	timeSet    = 1 << iota // not the zero time
	timeNanos              // a nanosecond part follows the seconds
	timeOffset             // a zone offset follows
	timeFlags  = timeSet | timeNanos | timeOffset
)

// Flags of a dossier record.
const (
	dossierTerminal = 1 << iota
	dossierWarned
	dossierOverdue
	dossierOnline // schema 5
	dossierFlags  = dossierTerminal | dossierWarned | dossierOverdue | dossierOnline
)

// Flags of a mismatch record.
const mismatchApplied = 1

// Flags of an outcome record.
const (
	outcomeDue          = 1 << iota // Due is set
	outcomeHistoryIndex             // HistoryIndex is set
	// EntryHash is set: its 32 bytes follow the history index. Records
	// written before it existed lack the flag and decode without a hash.
	outcomeEntryHash
	outcomeIrregular // Irregularities is not empty: their count and kinds follow the hash
	outcomeFlags     = outcomeDue | outcomeHistoryIndex | outcomeEntryHash | outcomeIrregular
)

// Forms of an attachment's SHA-256.
const (
	digestText = 0 // as a string (empty, or not 64 lowercase hex digits)
	digestRaw  = 1 // 64 lowercase hex digits, stored as their 32 bytes
)

// Forms of a history entry's agency. A national dossier code starts with
// the code of its agency (agency-date-number), so the agency of an entry
// is most often the start of its dossier's code, which the key holds.
const (
	agencyText   = 0 // as a string
	agencyOfCode = 1 // as the length of the start of the dossier code it is
)

// Forms of a history entry's event id.
const (
	idText = 0 // as a string
	idUUID = 1 // a UUID in its canonical lowercase text, stored as its 16 bytes
)

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendInt(b []byte, n int) []byte { return binary.AppendVarint(b, int64(n)) }

// setFlag sets bit in flags if v.
func setFlag(flags *byte, bit byte, v bool) {
	if v {
		*flags |= bit
	}
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	sec, ns := t.Unix(), t.Nanosecond()
	_, off := t.Zone()
	flags := byte(timeSet)
	setFlag(&flags, timeNanos, ns != 0)
	setFlag(&flags, timeOffset, off != 0)
	b = binary.AppendVarint(append(b, flags), sec)
	if ns != 0 {
		b = binary.AppendUvarint(b, uint64(ns))
	}
	if off != 0 {
		b = binary.AppendVarint(b, int64(off))
	}
	return b
}

// appendDossier appends the record of a dossier with the id to b.
func appendDossier(b []byte, id uint32, d *workflow.Dossier) []byte {
	b = binary.AppendUvarint(append(b, dossierVersion), uint64(id))
	b = appendString(b, d.Code)
	b = appendString(b, d.Procedure)
	b = appendString(b, d.Agency)
	b = appendString(b, d.Source)
	b = appendString(b, d.Definition)
	b = appendInt(b, d.Version)
	b = appendString(b, d.State)
	b = appendInt(b, int(d.Status))
	var flags byte
	setFlag(&flags, dossierTerminal, d.Terminal)
	setFlag(&flags, dossierWarned, d.Warned)
	setFlag(&flags, dossierOverdue, d.Overdue)
	setFlag(&flags, dossierOnline, d.Online)
	b = append(b, flags)
	b = appendString(b, d.Department)
	for _, t := range [...]time.Time{d.Due, d.OriginalDue, d.ReceivedAt, d.CreatedAt, d.UpdatedAt, d.ResolvedAt, d.ReturnedAt, d.PausedAt} {
		b = appendTime(b, t)
	}
	b = appendInt(b, d.Apologies)
	b = appendInt(b, d.Supplements)
	b = appendInt(b, d.LateEntries)
	b = binary.AppendUvarint(b, uint64(len(d.Attachments)))
	for _, a := range d.Attachments {
		b = appendString(b, a)
	}
	b = appendInt(b, d.History)
	b = append(b, d.Head[:]...)
	b = appendInt(b, d.Rejections)
	b = appendInt(b, d.Mismatches)
	return appendDossierFacts(b, d)
}

// Flags of the facts of a dossier record or a history entry: what an
// event records of the dossier beside its transition. Both records end
// with the flags byte and the facts it names.
const (
	factChannel      = 1 << iota // the channel's string follows
	factPaidOnline               // a payment online: the dossier's PaidOnline, the entry's Payment
	factPaidCounter              // a payment at the counter
	factSatisfaction             // the satisfaction score follows
	factFlags        = factChannel | factPaidOnline | factPaidCounter | factSatisfaction
	// factLookup, of a dossier record only: its lookup digest's 32 bytes
	// follow, last. A record written before digests existed lacks the
	// flag and reads as a dossier without one, so schema 6 files need no
	// upgrade; a binary older than the flag refuses such a record as one
	// of unknown flags rather than misread it.
	factLookup       = 1 << 4
	dossierFactFlags = factFlags | factLookup
)

// appendDossierFacts appends the facts of a dossier: their flags byte,
// then those set.
func appendDossierFacts(b []byte, d *workflow.Dossier) []byte {
	var flags byte
	setFlag(&flags, factChannel, d.Channel != "")
	setFlag(&flags, factPaidOnline, d.PaidOnline)
	setFlag(&flags, factPaidCounter, d.PaidCounter)
	setFlag(&flags, factSatisfaction, d.Satisfaction != 0)
	setFlag(&flags, factLookup, d.Lookup != [32]byte{})
	b = append(b, flags)
	if d.Channel != "" {
		b = appendString(b, string(d.Channel))
	}
	if d.Satisfaction != 0 {
		b = appendInt(b, d.Satisfaction)
	}
	if d.Lookup != [32]byte{} {
		b = append(b, d.Lookup[:]...)
	}
	return b
}

// dossierFacts reads the facts of a dossier.
func (r *reader) dossierFacts(d *workflow.Dossier) {
	d.Channel, d.Satisfaction, d.Lookup = "", 0, [32]byte{}
	flags := r.flags(dossierFactFlags)
	if flags&factChannel != 0 {
		d.Channel = workflow.Channel(r.str())
	}
	d.PaidOnline = flags&factPaidOnline != 0
	d.PaidCounter = flags&factPaidCounter != 0
	if flags&factSatisfaction != 0 {
		d.Satisfaction = r.int()
	}
	if flags&factLookup != 0 {
		// The zero digest stands for none: a record flagging it is
		// corrupt.
		if d.Lookup = r.hash(); d.Lookup == [32]byte{} && r.err == nil {
			r.fail("a lookup digest of zeros")
		}
	}
}

// appendEntry appends the record of a history entry to b: all of it but
// its Dossier and Index, which its key holds, and its PrevHash, which is
// the Hash of the entry before it.
func appendEntry(b []byte, e *workflow.HistoryEntry) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, e.Seq)
	if raw, ok := uuidBytes(e.EventID); ok {
		b = append(append(b, idUUID), raw[:]...)
	} else {
		b = appendString(append(b, idText), e.EventID)
	}
	b = appendString(b, e.Source)
	b = appendString(b, e.Action)
	b = appendString(b, e.From)
	b = appendString(b, e.To)
	b = appendInt(b, int(e.FromStatus))
	b = appendInt(b, int(e.ToStatus))
	b = appendTime(b, e.Time)
	b = appendString(b, e.Actor)
	if e.Agency != "" && strings.HasPrefix(e.Dossier, e.Agency) {
		b = binary.AppendUvarint(append(b, agencyOfCode), uint64(len(e.Agency)))
	} else {
		b = appendString(append(b, agencyText), e.Agency)
	}
	b = appendString(b, e.Department)
	b = appendString(b, e.Reason)
	b = appendString(b, e.Note)
	b = appendTime(b, e.Due)
	b = appendString(b, string(e.Timing))
	b = binary.AppendUvarint(b, uint64(len(e.Attachments)))
	for i := range e.Attachments {
		a := &e.Attachments[i]
		b = appendString(b, a.Kind)
		b = appendString(b, a.Name)
		if raw, ok := hexDigest(a.SHA256); ok {
			b = append(append(b, digestRaw), raw[:]...)
		} else {
			b = appendString(append(b, digestText), a.SHA256)
		}
	}
	var flags byte
	setFlag(&flags, factChannel, e.Channel != "")
	setFlag(&flags, factPaidOnline, e.Payment == workflow.PaymentOnline)
	setFlag(&flags, factPaidCounter, e.Payment == workflow.PaymentCounter)
	setFlag(&flags, factSatisfaction, e.Satisfaction != 0)
	b = append(b, flags)
	if e.Channel != "" {
		b = appendString(b, string(e.Channel))
	}
	if e.Satisfaction != 0 {
		b = appendInt(b, e.Satisfaction)
	}
	// The hash ends the record: readHeadEntry reads it there.
	return append(b, e.Hash[:]...)
}

// hexDigest decodes s if it is 64 lowercase hex digits, the only form
// that reads back as the same string.
func hexDigest(s string) (raw [32]byte, ok bool) {
	if len(s) != 64 {
		return raw, false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return raw, false
		}
	}
	_, err := hex.Decode(raw[:], []byte(s))
	return raw, err == nil
}

// uuidBytes decodes s if it is a UUID in canonical lowercase text
// (8-4-4-4-12 hex digits), the only form that reads back as the same
// string.
func uuidBytes(s string) (raw [16]byte, ok bool) {
	if len(s) != 36 {
		return raw, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return raw, false
			}
			i-- // the next pair starts right after the hyphen
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return raw, false
		}
		raw[j] = hi<<4 | lo
		j++
	}
	return raw, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendUUIDText appends the canonical text of the UUID raw.
func appendUUIDText(b []byte, raw []byte) []byte {
	for i, x := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, []byte{x})
	}
	return b
}

// appendRejection appends the record of a rejection to b.
func appendRejection(b []byte, r *workflow.Rejection) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, r.Seq)
	b = appendString(b, r.EventID)
	b = appendString(b, r.Source)
	b = appendString(b, r.Subject)
	b = appendString(b, r.Dossier)
	b = appendString(b, r.Action)
	b = appendString(b, r.Agency)
	b = appendString(b, string(r.Reason))
	b = appendString(b, r.Detail)
	b = appendString(b, r.DetailVI)
	b = appendInt(b, int(r.Status))
	b = appendInt(b, int(r.ClaimedStatus))
	return appendTime(b, r.Time)
}

// appendMismatch appends the record of a mismatch to b.
func appendMismatch(b []byte, m *workflow.Mismatch) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, m.Seq)
	b = appendString(b, m.EventID)
	b = appendString(b, m.Source)
	b = appendString(b, m.Dossier)
	b = appendString(b, m.Action)
	b = appendString(b, m.Agency)
	b = appendString(b, m.Actor)
	var flags byte
	setFlag(&flags, mismatchApplied, m.Applied)
	b = append(b, flags)
	b = appendInt(b, int(m.Status))
	b = appendInt(b, int(m.ClaimedStatus))
	return appendTime(b, m.Time)
}

// appendIrregularities appends the record of the irregularities of one
// event to b: what the event tells once, then the kind, delay and details
// of each.
func appendIrregularities(b []byte, irs []workflow.Irregularity) []byte {
	b = append(b, recordVersion)
	first := &irs[0]
	b = binary.AppendUvarint(b, first.Seq)
	b = appendString(b, first.EventID)
	b = appendString(b, first.Source)
	b = appendString(b, first.Dossier)
	b = appendString(b, first.Action)
	b = appendString(b, first.Agency)
	b = appendString(b, first.Actor)
	b = appendTime(b, first.Time)
	b = appendTime(b, first.Entered)
	b = binary.AppendUvarint(b, uint64(len(irs)))
	for i := range irs {
		b = appendString(b, string(irs[i].Kind))
		b = binary.AppendVarint(b, int64(irs[i].Delay))
		b = appendString(b, irs[i].Detail)
		b = appendString(b, irs[i].DetailVI)
	}
	return b
}

// irrTally is a row of irr_tally: how many irregularities of one kind an
// agency's officer has, and their delays summed.
type irrTally struct {
	n     uint64 // irregularities
	delay uint64 // the sum of their Delay, in whole seconds each
}

// add counts one irregularity.
func (t *irrTally) add(ir *workflow.Irregularity) {
	t.n++
	t.delay += uint64(max(ir.Delay, 0) / time.Second)
}

// appendIrrTally appends the record of a row of irr_tally to b.
func appendIrrTally(b []byte, t irrTally) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, t.n)
	return binary.AppendUvarint(b, t.delay)
}

// decodeIrrTally reads a row of irr_tally.
func decodeIrrTally(b []byte) (irrTally, error) {
	r := newReader(b)
	t := irrTally{n: r.uvarint(), delay: r.uvarint()}
	return t, r.done("irregularity tally")
}

// appendOutcome appends the record of an outcome to b.
func appendOutcome(b []byte, o *workflow.Outcome) []byte {
	b = append(b, recordVersion)
	b = appendString(b, string(o.Kind))
	b = binary.AppendUvarint(b, o.Seq)
	b = appendString(b, o.EventID)
	b = appendString(b, o.Source)
	b = appendString(b, o.Dossier)
	b = appendString(b, o.Action)
	b = appendInt(b, int(o.Status))
	b = appendString(b, o.StatusName)
	b = appendInt(b, int(o.PreviousStatus))
	b = appendInt(b, int(o.ClaimedStatus))
	b = appendString(b, string(o.Reason))
	b = appendString(b, o.MessageVI)
	b = appendString(b, o.MessageEN)
	var flags byte
	setFlag(&flags, outcomeDue, o.Due != nil)
	setFlag(&flags, outcomeHistoryIndex, o.HistoryIndex != nil)
	setFlag(&flags, outcomeEntryHash, o.EntryHash != nil)
	setFlag(&flags, outcomeIrregular, len(o.Irregularities) > 0)
	b = append(b, flags)
	if o.Due != nil {
		b = appendTime(b, *o.Due)
	}
	if o.HistoryIndex != nil {
		b = appendInt(b, *o.HistoryIndex)
	}
	if o.EntryHash != nil {
		b = append(b, o.EntryHash[:]...)
	}
	if len(o.Irregularities) > 0 {
		b = binary.AppendUvarint(b, uint64(len(o.Irregularities)))
		for _, k := range o.Irregularities {
			b = appendString(b, string(k))
		}
	}
	return appendTime(b, o.Time)
}

// reader decodes one record. The first error sticks: later reads return
// zero values, and done reports it.
type reader struct {
	b   []byte // the record, which may be bbolt's
	s   string // b copied once, on the first non-empty string, which every decoded string shares
	off int    // next byte to read
	err error
}

// newReader starts reading the record b, checking its format version.
func newReader(b []byte) reader { return newReaderOf(b, recordVersion) }

// newReaderOf starts reading the record b of the format version.
func newReaderOf(b []byte, version byte) reader {
	r := reader{b: b}
	switch {
	case len(b) == 0:
		r.fail("empty")
	case b[0] != version:
		r.err = fmt.Errorf("%w: format version %d, want %d", errBadRecord, b[0], version)
	default:
		r.off = 1
	}
	return r
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d of %d", errBadRecord, msg, r.off, len(r.b))
	}
}

// done returns the first error, or an error if bytes are left over.
func (r *reader) done(what string) error {
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	return nil
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

// flags reads a byte of flags and checks it has no bit outside known.
func (r *reader) flags(known byte) byte {
	f := r.byte()
	if f&^known != 0 {
		r.fail("unknown flags")
		return 0
	}
	return f
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) int() int {
	v := r.varint()
	if int64(int(v)) != v {
		r.fail("integer out of range")
		return 0
	}
	return int(v)
}

func (r *reader) status() workflow.Status { return workflow.Status(r.int()) }

// len reads a length or count of elements of at least min bytes each,
// which the rest of the record must be able to hold.
func (r *reader) len(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64((len(r.b)-r.off)/min) {
		r.fail("length past the end")
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.len(1)
	if r.err != nil || n == 0 {
		return ""
	}
	if r.s == "" {
		r.s = string(r.b)
	}
	r.off += n
	return r.s[r.off-n : r.off]
}

func (r *reader) hash() (h workflow.Hash) {
	if r.err != nil {
		return h
	}
	if len(r.b)-r.off < len(h) {
		r.fail("truncated")
		return h
	}
	r.off += copy(h[:], r.b[r.off:])
	return h
}

// uuid reads the 16 bytes of a UUID and returns its canonical text.
func (r *reader) uuid() string {
	if r.err != nil {
		return ""
	}
	if len(r.b)-r.off < 16 {
		r.fail("truncated")
		return ""
	}
	var text [36]byte
	appendUUIDText(text[:0], r.b[r.off:r.off+16])
	r.off += 16
	return string(text[:])
}

func (r *reader) time() time.Time {
	flags := r.flags(timeFlags)
	if flags == 0 || r.err != nil {
		return time.Time{}
	}
	if flags&timeSet == 0 {
		r.fail("time flags without the set bit")
		return time.Time{}
	}
	sec := r.varint()
	var ns uint64
	if flags&timeNanos != 0 {
		if ns = r.uvarint(); ns >= uint64(time.Second) {
			r.fail("nanoseconds out of range")
		}
	}
	var off int64
	if flags&timeOffset != 0 {
		if off = r.varint(); off < math.MinInt32 || off > math.MaxInt32 {
			r.fail("zone offset out of range")
		}
	}
	if r.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(ns))
	if off == 0 {
		return t.UTC()
	}
	return t.In(fixedZone(int(off)))
}

// zones caches the fixed zones of the offsets decoded so far, so that
// decoding a time does not allocate one: copy on write, as they are few
// (Vietnam's, and what senders use).
var (
	zones   atomic.Pointer[map[int]*time.Location]
	zonesMu sync.Mutex // serializes the writers of zones
)

// maxZones bounds zones against a file of many odd offsets.
const maxZones = 64

func fixedZone(off int) *time.Location {
	if m := zones.Load(); m != nil {
		if loc, ok := (*m)[off]; ok {
			return loc
		}
	}
	zonesMu.Lock()
	defer zonesMu.Unlock()
	old := zones.Load()
	if old != nil {
		if loc, ok := (*old)[off]; ok {
			return loc
		}
	}
	loc := time.FixedZone("", off)
	if old == nil {
		zones.Store(&map[int]*time.Location{off: loc})
	} else if len(*old) < maxZones {
		m := maps.Clone(*old)
		m[off] = loc
		zones.Store(&m)
	}
	return loc
}

// decodeDossier reads a dossier record into d, which owns its memory
// afterwards: b, which may be bbolt's, can be dropped when the
// transaction ends.
func decodeDossier(b []byte, d *workflow.Dossier) error {
	_, err := decodeDossierID(b, d)
	return err
}

// decodeDossierID is decodeDossier that also returns the dossier's id.
func decodeDossierID(b []byte, d *workflow.Dossier) (uint32, error) {
	r := newReaderOf(b, dossierVersion)
	id := r.dossierID()
	d.Code = r.str()
	d.Procedure = r.str()
	d.Agency = r.str()
	d.Source = r.str()
	d.Definition = r.str()
	d.Version = r.int()
	d.State = r.str()
	d.Status = r.status()
	flags := r.flags(dossierFlags)
	d.Terminal = flags&dossierTerminal != 0
	d.Warned = flags&dossierWarned != 0
	d.Overdue = flags&dossierOverdue != 0
	d.Online = flags&dossierOnline != 0
	d.Department = r.str()
	for _, t := range [...]*time.Time{&d.Due, &d.OriginalDue, &d.ReceivedAt, &d.CreatedAt, &d.UpdatedAt, &d.ResolvedAt, &d.ReturnedAt, &d.PausedAt} {
		*t = r.time()
	}
	d.Apologies = r.int()
	d.Supplements = r.int()
	d.LateEntries = r.int()
	d.Attachments = nil
	if n := r.len(1); n > 0 {
		d.Attachments = make([]string, n)
		for i := range d.Attachments {
			d.Attachments[i] = r.str()
		}
	}
	d.History = r.int()
	d.Head = r.hash()
	d.Rejections = r.int()
	d.Mismatches = r.int()
	r.dossierFacts(d)
	return id, r.done("dossier")
}

// dossierID reads the id of a dossier record.
func (r *reader) dossierID() uint32 {
	id := r.uvarint()
	if r.err == nil && (id == 0 || id > math.MaxUint32) {
		r.fail("a dossier id out of range")
		return 0
	}
	return uint32(id)
}

// dossierIDOf returns the id of the dossier record b, reading nothing
// else of it: what a reader of the history needs to find the entries.
func dossierIDOf(b []byte) (uint32, error) {
	r := newReaderOf(b, dossierVersion)
	id := r.dossierID()
	if r.err != nil {
		return 0, fmt.Errorf("decode dossier: %w", r.err)
	}
	return id, nil
}

// decodeEntry reads the history entry of the dossier with the code stored
// under the key k (see historyKey) with the value b into e, which owns its
// memory afterwards; prev is the Hash of the entry before it (zero for the
// first). It reuses the room of e.Attachments, whose elements it
// overwrites.
func decodeEntry(code string, k, b []byte, prev workflow.Hash, e *workflow.HistoryEntry) error {
	_, index, ok := splitHistoryKey(k)
	if !ok {
		return fmt.Errorf("decode history entry: %w: key %q is not id index", errBadRecord, k)
	}
	r := newReader(b)
	e.Dossier = code
	e.Index = index
	e.Seq = r.uvarint()
	switch r.byte() {
	case idText:
		e.EventID = r.str()
	case idUUID:
		e.EventID = r.uuid()
	default:
		r.fail("unknown event id form")
	}
	e.Source = r.str()
	e.Action = r.str()
	e.From = r.str()
	e.To = r.str()
	e.FromStatus = r.status()
	e.ToStatus = r.status()
	e.Time = r.time()
	e.Actor = r.str()
	switch r.byte() {
	case agencyText:
		e.Agency = r.str()
	case agencyOfCode:
		if n := r.uvarint(); n == 0 || n > uint64(len(e.Dossier)) {
			r.fail("agency past the end of the dossier code")
		} else {
			e.Agency = e.Dossier[:n]
		}
	default:
		r.fail("unknown agency form")
	}
	e.Department = r.str()
	e.Reason = r.str()
	e.Note = r.str()
	e.Due = r.time()
	e.Timing = workflow.Timing(r.str())
	switch n := r.len(3); { // kind, name and digest take a byte each at least
	case n == 0:
		e.Attachments = nil
	case n <= cap(e.Attachments):
		e.Attachments = e.Attachments[:n] // e's own, overwritten
	default:
		e.Attachments = make([]workflow.Attachment, n)
	}
	if len(e.Attachments) > 0 {
		for i := range e.Attachments {
			a := &e.Attachments[i]
			a.Kind = r.str()
			a.Name = r.str()
			switch r.byte() {
			case digestText:
				a.SHA256 = r.str()
			case digestRaw:
				raw := r.hash()
				var text [64]byte
				hex.Encode(text[:], raw[:])
				if a.SHA256 != string(text[:]) { // no allocation when a holds it already
					a.SHA256 = string(text[:])
				}
			default:
				r.fail("unknown digest form")
			}
		}
	}
	e.Channel, e.Payment, e.Satisfaction = "", "", 0
	flags := r.flags(factFlags)
	if flags&factChannel != 0 {
		e.Channel = workflow.Channel(r.str())
	}
	switch flags & (factPaidOnline | factPaidCounter) {
	case factPaidOnline:
		e.Payment = workflow.PaymentOnline
	case factPaidCounter:
		e.Payment = workflow.PaymentCounter
	case factPaidOnline | factPaidCounter:
		r.fail("an entry records one payment")
	}
	if flags&factSatisfaction != 0 {
		e.Satisfaction = r.int()
	}
	e.PrevHash = prev
	e.Hash = r.hash()
	if r.err != nil {
		e.Attachments = nil
	}
	return r.done("history entry")
}

// decodeRejection reads a rejection record into j.
func decodeRejection(b []byte, j *workflow.Rejection) error {
	r := newReader(b)
	j.Seq = r.uvarint()
	j.EventID = r.str()
	j.Source = r.str()
	j.Subject = r.str()
	j.Dossier = r.str()
	j.Action = r.str()
	j.Agency = r.str()
	j.Reason = workflow.Reason(r.str())
	j.Detail = r.str()
	j.DetailVI = r.str()
	j.Status = r.status()
	j.ClaimedStatus = r.status()
	j.Time = r.time()
	return r.done("rejection")
}

// decodeMismatch reads a mismatch record into m.
func decodeMismatch(b []byte, m *workflow.Mismatch) error {
	r := newReader(b)
	m.Seq = r.uvarint()
	m.EventID = r.str()
	m.Source = r.str()
	m.Dossier = r.str()
	m.Action = r.str()
	m.Agency = r.str()
	m.Actor = r.str()
	m.Applied = r.flags(mismatchApplied) != 0
	m.Status = r.status()
	m.ClaimedStatus = r.status()
	m.Time = r.time()
	return r.done("mismatch")
}

// decodeIrregularities reads the record of the irregularities of one
// event.
func decodeIrregularities(b []byte) ([]workflow.Irregularity, error) {
	r := newReader(b)
	var ev workflow.Irregularity
	ev.Seq = r.uvarint()
	ev.EventID = r.str()
	ev.Source = r.str()
	ev.Dossier = r.str()
	ev.Action = r.str()
	ev.Agency = r.str()
	ev.Actor = r.str()
	ev.Time = r.time()
	ev.Entered = r.time()
	n := r.len(4)
	out := make([]workflow.Irregularity, n)
	for i := range out {
		out[i] = ev
		out[i].Kind = workflow.IrregularityKind(r.str())
		out[i].Delay = time.Duration(r.varint())
		out[i].Detail = r.str()
		out[i].DetailVI = r.str()
	}
	if err := r.done("irregularities"); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeOutcome reads an outcome record into o.
func decodeOutcome(b []byte, o *workflow.Outcome) error {
	r := newReader(b)
	o.Kind = workflow.OutcomeKind(r.str())
	o.Seq = r.uvarint()
	o.EventID = r.str()
	o.Source = r.str()
	o.Dossier = r.str()
	o.Action = r.str()
	o.Status = r.status()
	o.StatusName = r.str()
	o.PreviousStatus = r.status()
	o.ClaimedStatus = r.status()
	o.Reason = workflow.Reason(r.str())
	o.MessageVI = r.str()
	o.MessageEN = r.str()
	flags := r.flags(outcomeFlags)
	o.Due, o.HistoryIndex, o.EntryHash, o.Irregularities = nil, nil, nil, nil
	if flags&outcomeDue != 0 {
		t := r.time()
		o.Due = &t
	}
	if flags&outcomeHistoryIndex != 0 {
		i := r.int()
		o.HistoryIndex = &i
	}
	if flags&outcomeEntryHash != 0 {
		h := r.hash()
		o.EntryHash = &h
	}
	if flags&outcomeIrregular != 0 {
		// Never written with none, but read with none as without the flag:
		// the same outcome either way.
		if n := r.len(1); n > 0 {
			o.Irregularities = make([]workflow.IrregularityKind, n)
		}
		for i := range o.Irregularities {
			o.Irregularities[i] = workflow.IrregularityKind(r.str())
		}
	}
	o.Time = r.time()
	if r.err != nil {
		o.Due, o.HistoryIndex, o.EntryHash, o.Irregularities = nil, nil, nil, nil
	}
	return r.done("outcome")
}

// encodeUint64 returns the stored form of a counter or sequence.
func encodeUint64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// decodeUint64 reads a counter or sequence; a missing value reads as zero.
func decodeUint64(b []byte) (uint64, error) {
	switch len(b) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("decode uint64: %d bytes, want 8", len(b))
}
