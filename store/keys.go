package store

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// schemaVersion is the version of the layout described in doc.go. Open
// writes it into a new file and refuses a file of any other version.
//
// Version 2 added the due, overdue and receipt-date indexes and the
// statistics counters. Version 3 stores records in the binary form of
// codec.go instead of JSON, history entries without their dossier and
// index (their key holds them) or previous hash, UUID event ids as their
// 16 bytes, and dedupe sequences as uvarints. Version 4 keeps the outbox
// as one chunk of outcomes per batch (outbox.go). Version 5 records which
// dossiers were submitted online (a flag of the dossier record) and
// counts the online receipts in the statistics. Version 6 decides by due
// instants (a date-only due date is the end of its working day, one rule
// for overdue and late, lateness against the original due date, clock
// effects per action), records a dossier's original due date and its
// supplement requests, and keeps the irregularities of accepted events:
// the decisions of logged events change, so a file of an older version is
// rebuilt from the stream, never upgraded in place. Version 6 also
// records the calendars the store counted deadlines in (calendars) and
// indexes the dossiers whose clock waits for the applicant
// (dossier_paused), which calendar events recompute. Version 7 gives each
// dossier a short internal id, numbered in the order Apply creates the
// dossiers (meta next_dossier_id), kept in its record, and keys the
// history by id and index (8 bytes) instead of code 0x00 index (about
// 30): only the layout changes, so Open upgrades a file of version 6 in
// place (upgrade.go).
const schemaVersion = 7

// upgradableSchema is the version Open upgrades in place to
// schemaVersion; it refuses an older one with ErrSchemaOld.
const upgradableSchema = 6

// Bucket names. Open creates every one of them.
const (
	bucketMeta         = "meta"                 // metaSchema, metaAppliedSeq
	bucketCounts       = "counts"               // counter key -> big-endian uint64
	bucketDossiers     = "dossiers"             // code -> dossier record
	bucketHistory      = "history"              // dossier id(uint32) index(uint32) -> history entry
	bucketDedupe       = "dedupe"               // event id (appendDedupeKey) -> seq (uvarint) of the message that carried it first
	bucketRejections   = "rejections"           // seq -> rejection record
	bucketRejByDossier = "rej_by_dossier"       // code 0x00 seq -> empty
	bucketRejByReason  = "rej_by_reason"        // reason 0x00 seq -> empty
	bucketMismatches   = "mismatches"           // seq -> mismatch record
	bucketMisByDossier = "mis_by_dossier"       // code 0x00 seq -> empty
	bucketIrregular    = "irregularities"       // seq -> the irregularity records of the event (appendIrregularities)
	bucketIrrByDossier = "irr_by_dossier"       // code 0x00 seq -> empty
	bucketIrrByKind    = "irr_by_kind"          // kind 0x00 seq -> empty
	bucketIrrTally     = "irr_tally"            // agency 0x00 kind 0x00 actor -> count and delay (appendIrrTally)
	bucketOutbox       = "outbox"               // seq of the last outcome -> chunk of outcome records (outbox.go)
	bucketByStatus     = "dossier_by_status"    // status(1 byte) code -> empty
	bucketByAgency     = "dossier_by_agency"    // agency 0x00 code -> empty
	bucketByProcedure  = "dossier_by_procedure" // procedure 0x00 code -> empty
	bucketByDue        = "dossier_by_due"       // due(unix ns, big-endian) code -> empty, while the clock runs and no expiry is recorded
	bucketByOverdue    = "dossier_overdue"      // due(unix ns, big-endian) code -> empty, while overdue and in progress (overdueKey)
	bucketByReceived   = "dossier_by_received"  // date("2006-01-02" in workflow.Zone) code -> empty, once received (receivedKey)
	bucketByPaused     = "dossier_paused"       // due(unix ns, big-endian) code -> empty, while the clock waits for the applicant (appendPausedKey)
	bucketCalendars    = "calendars"            // seq -> the calendar in force from that stream sequence on (calendar.go); 0 for the one the stream started with
	bucketStats        = "stats"                // kind(1 byte) month("2006-01") 0x00 agency 0x00 procedure -> flow counters (stats.go)
	bucketGauges       = "gauges"               // kind(1 byte) agency 0x00 procedure -> gauge counters (stats.go)
	bucketSnapshots    = "snapshots"            // kind(1 byte) month("2006-01") 0x00 agency 0x00 procedure -> the gauges at the month's close (period.go)
	bucketPeriods      = "periods"              // month("2006-01") -> seq and time (Unix ns), big-endian, of the month's close (period.go)
)

// allBuckets lists every bucket, in the order Open creates them.
var allBuckets = []string{
	bucketMeta, bucketCounts, bucketDossiers, bucketHistory, bucketDedupe,
	bucketRejections, bucketRejByDossier, bucketRejByReason,
	bucketMismatches, bucketMisByDossier, bucketOutbox,
	bucketIrregular, bucketIrrByDossier, bucketIrrByKind, bucketIrrTally,
	bucketByStatus, bucketByAgency, bucketByProcedure, bucketByDue,
	bucketByOverdue, bucketByReceived, bucketByPaused,
	bucketStats, bucketGauges, bucketCalendars,
	bucketSnapshots, bucketPeriods,
}

// Keys of the meta bucket.
const (
	metaSchema     = "schema"      // big-endian uint64: schemaVersion of the file
	metaAppliedSeq = "applied_seq" // big-endian uint64: last stream sequence applied
	// big-endian uint64: the id the next dossier Apply creates gets;
	// absent (1) until the first.
	metaNextDossierID = "next_dossier_id"
)

// Keys of the counts bucket. Values are big-endian uint64 counts, kept by
// Apply and MarkPublished so that Counts never scans.
const (
	countDossiers   = "dossiers"       // dossiers stored
	countEntries    = "entries"        // history entries stored
	countRejections = "rejections"     // rejections recorded
	countMismatches = "mismatches"     // mismatches recorded
	countIrregular  = "irregularities" // irregularities recorded (several per event at most one of each kind)
	countOutbox     = "outbox"         // outcomes waiting in the outbox

	countStatusPrefix    = "status:"       // + decimal status code: dossiers in that status
	countReasonPrefix    = "reason:"       // + reason code: rejections with that reason
	countIrregularPrefix = "irregularity:" // + kind: irregularities of that kind
	countAgencyPrefix    = "agency:"       // + agency code: dossiers of the agency
	countProcedurePrefix = "procedure:"    // + procedure code: dossiers of the procedure
	countClockRunning    = "clock_running" // dossiers in the due index
	countOverdue         = "overdue"       // dossiers in the overdue index
	countReceived        = "received"      // dossiers in the received index
	countPaused          = "clock_paused"  // dossiers in the paused index
)

// sep separates a variable-length key part from what follows it. Apply
// refuses codes, ids, agencies and procedures that contain it (see
// keyProblem), so a prefix ending in sep names exactly one value.
const sep = 0x00

// maxKeyPart is the longest dossier code, event id, agency or procedure
// the store keeps (bbolt keys are at most 32 KiB; nothing legitimate comes
// close to this).
const maxKeyPart = 512

// seqKey returns the big-endian key of a stream sequence.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// seqOf decodes a big-endian sequence; the key must be 8 bytes.
func seqOf(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// prefixKey returns part 0x00, the prefix of every key under part.
func prefixKey(part string) []byte {
	k := make([]byte, 0, len(part)+1+8)
	return append(append(k, part...), sep)
}

// prefixSeqKey returns part 0x00 seq: a key of the rej_by_dossier,
// rej_by_reason and mis_by_dossier indexes.
func prefixSeqKey(part string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefixKey(part), seq)
}

// appendDedupeKey appends the key in dedupe of the id of an event with the
// action from source: a UUID in canonical lowercase text as 0x00 and its 16
// bytes, any other id as it is; and for hoso's own events (one of
// workflow.SystemAction from workflow.SystemSource) 0x01 before either. No
// stored id holds 0x00 (keyProblem) and none read from the stream holds
// 0x01 (the codec refuses non-printable ids), so the forms never meet and
// each id has exactly one key — and an id a sender makes up, even one sent
// on the reserved source with another action (rejected), can never take
// the place of one of hoso's deadline, calendar or period-close events.
func appendDedupeKey(b []byte, source, action, id string) []byte {
	if source == workflow.SystemSource && workflow.SystemAction(action) {
		b = append(b, systemID)
	}
	if raw, ok := uuidBytes(id); ok {
		return append(append(b, sep), raw[:]...)
	}
	return append(b, id...)
}

// systemID starts the dedupe key of an id of hoso's own events.
const systemID = 0x01

// historyKey returns id index, both big-endian uint32: the key of entry
// index of the dossier whose record holds id. A dossier's entries sort in
// index order, and dossiers in the order of their creation, so the
// entries of the dossiers in flight sit near the end of the bucket.
func historyKey(id uint32, index int) []byte {
	return appendHistoryKey(make([]byte, 0, historyKeyLen), id, index)
}

// appendHistoryKey appends historyKey(id, index) to b.
func appendHistoryKey(b []byte, id uint32, index int) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, id), uint32(index))
}

// historyPrefix returns the prefix of the history keys of the dossier
// whose record holds id.
func historyPrefix(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// historyKeyLen is the length of a history key.
const historyKeyLen = 4 + 4

// splitHistoryKey splits a key of the history bucket into the dossier id
// and the index.
func splitHistoryKey(k []byte) (id uint32, index int, ok bool) {
	if len(k) != historyKeyLen {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(k), int(binary.BigEndian.Uint32(k[4:])), true
}

// statusPrefix is the prefix of the dossier_by_status keys of a status.
func statusPrefix(s workflow.Status) []byte { return []byte{byte(s)} }

// seqSuffix returns the sequence ending a key of prefix + 8 bytes, and
// whether k has that shape.
func seqSuffix(k, prefix []byte) (uint64, bool) {
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0, false
	}
	return seqOf(k[len(prefix):]), true
}

// statusCountKeys holds statusCountKey of the valid statuses, which Apply
// would otherwise build for every dossier it writes.
var statusCountKeys = func() (keys [workflow.MaxStatus + 1]string) {
	for s := range keys {
		keys[s] = countStatusPrefix + strconv.Itoa(s)
	}
	return keys
}()

func statusCountKey(s workflow.Status) string {
	if s >= 0 && s <= workflow.MaxStatus {
		return statusCountKeys[s]
	}
	return countStatusPrefix + strconv.Itoa(int(s))
}

// appendIrrTallyKey appends the key of the irr_tally row of an irregularity:
// agency 0x00 kind 0x00 actor. The actor comes last, so that the key
// reads back whatever bytes it holds (Apply checks agencies for 0x00, not
// actors).
func appendIrrTallyKey(b []byte, agency string, kind workflow.IrregularityKind, actor string) []byte {
	return append(append(append(append(append(b, agency...), sep), kind...), sep), actor...)
}

// splitIrrTallyKey splits a key of irr_tally; ok is false for a key of
// another shape.
func splitIrrTallyKey(k []byte) (agency string, kind workflow.IrregularityKind, actor string, ok bool) {
	a, rest, found := bytes.Cut(k, []byte{sep})
	if !found {
		return "", "", "", false
	}
	kd, ac, found := bytes.Cut(rest, []byte{sep})
	if !found || len(kd) == 0 {
		return "", "", "", false
	}
	return string(a), workflow.IrregularityKind(kd), string(ac), true
}

// dossierIndex is one of the indexes of dossiers: Apply keeps exactly
// one key in it for each dossier appendKey says is in it.
type dossierIndex struct {
	name   string // the bucket's name
	bucket func(*buckets) *bbolt.Bucket
	// code returns the dossier code a key ends with; false for a key
	// of the wrong shape.
	code func(k []byte) ([]byte, bool)
	// appendKey appends the key of d to b; false (and b unchanged) when
	// d is not in the index.
	appendKey func(b []byte, d *workflow.Dossier) ([]byte, bool)
	// count returns the counter of the keys of d's group.
	count func(d *workflow.Dossier) string
}

// dossierIndexes lists the dossier indexes: status, agency, procedure,
// due, overdue, received and paused.
var dossierIndexes = [...]dossierIndex{
	{
		bucketByStatus,
		func(b *buckets) *bbolt.Bucket { return b.byStatus },
		func(k []byte) ([]byte, bool) { return fixedCode(k, 1) },
		func(b []byte, d *workflow.Dossier) ([]byte, bool) {
			return append(append(b, byte(d.Status)), d.Code...), true
		},
		func(d *workflow.Dossier) string { return statusCountKey(d.Status) },
	},
	{
		bucketByAgency,
		func(b *buckets) *bbolt.Bucket { return b.byAgency },
		partCode,
		func(b []byte, d *workflow.Dossier) ([]byte, bool) { return appendCodeKey(b, d.Agency, d.Code), true },
		func(d *workflow.Dossier) string { return countAgencyPrefix + d.Agency },
	},
	{
		bucketByProcedure,
		func(b *buckets) *bbolt.Bucket { return b.byProcedure },
		partCode,
		func(b []byte, d *workflow.Dossier) ([]byte, bool) { return appendCodeKey(b, d.Procedure, d.Code), true },
		func(d *workflow.Dossier) string { return countProcedurePrefix + d.Procedure },
	},
	{
		bucketByDue,
		func(b *buckets) *bbolt.Bucket { return b.byDue },
		func(k []byte) ([]byte, bool) { return fixedCode(k, 8) },
		appendDueKey,
		func(*workflow.Dossier) string { return countClockRunning },
	},
	{
		bucketByOverdue,
		func(b *buckets) *bbolt.Bucket { return b.byOverdue },
		func(k []byte) ([]byte, bool) { return fixedCode(k, 8) },
		appendOverdueKey,
		func(*workflow.Dossier) string { return countOverdue },
	},
	{
		bucketByReceived,
		func(b *buckets) *bbolt.Bucket { return b.byReceived },
		func(k []byte) ([]byte, bool) { return fixedCode(k, receivedDateLen) },
		appendReceivedKey,
		func(*workflow.Dossier) string { return countReceived },
	},
	{
		bucketByPaused,
		func(b *buckets) *bbolt.Bucket { return b.byPaused },
		func(k []byte) ([]byte, bool) { return fixedCode(k, 8) },
		appendPausedKey,
		func(*workflow.Dossier) string { return countPaused },
	},
}

// fixedCode returns the code after a fixed-length prefix of n bytes.
func fixedCode(k []byte, n int) ([]byte, bool) {
	if len(k) <= n {
		return nil, false
	}
	return k[n:], true
}

// partCode returns the code after part 0x00.
func partCode(k []byte) ([]byte, bool) {
	i := bytes.IndexByte(k, sep)
	if i < 0 || i == len(k)-1 {
		return nil, false
	}
	return k[i+1:], true
}

// appendCodeKey appends part 0x00 code: a key of dossier_by_agency and
// dossier_by_procedure.
func appendCodeKey(b []byte, part, code string) []byte {
	return append(append(append(b, part...), sep), code...)
}

// appendDueKey appends the key of a dossier in the due index, due(unix
// ns) code; false when the deadline scheduler has nothing more to do for
// it: its statutory clock does not run (no due date, paused, finished),
// or its expiry is recorded.
func appendDueKey(b []byte, d *workflow.Dossier) ([]byte, bool) {
	if !d.ClockRunning() || d.Overdue {
		return b, false
	}
	return append(binary.BigEndian.AppendUint64(b, uint64(d.Due.UnixNano())), d.Code...), true
}

// appendPausedKey appends the key of a dossier in the paused index,
// due(unix ns) code; false unless its statutory clock waits for the
// applicant (paused, with a due date, not finished): the dossiers whose
// due date a calendar event recomputes from the instant the clock
// stopped.
func appendPausedKey(b []byte, d *workflow.Dossier) ([]byte, bool) {
	if d.PausedAt.IsZero() || d.Due.IsZero() || d.Terminal || !d.ResolvedAt.IsZero() {
		return b, false
	}
	return append(binary.BigEndian.AppendUint64(b, uint64(d.Due.UnixNano())), d.Code...), true
}

// receivedDateLen is the length of the date that starts a key of
// dossier_by_received.
const receivedDateLen = len(time.DateOnly)

// receivedKey returns the key of a dossier in dossier_by_received: the
// date of its receipt in Vietnam, then its code; nil until it is received.
func receivedKey(d *workflow.Dossier) []byte {
	k, ok := appendReceivedKey(nil, d)
	if !ok {
		return nil
	}
	return k
}

// appendReceivedKey appends receivedKey(d); false until it is received.
func appendReceivedKey(b []byte, d *workflow.Dossier) ([]byte, bool) {
	if d.ReceivedAt.IsZero() {
		return b, false
	}
	return append(d.ReceivedAt.In(workflow.Zone).AppendFormat(b, time.DateOnly), d.Code...), true
}
