/*
Package store keeps hoso's state in one bbolt file: dossiers, their
hash-chained histories, rejections, status mismatches, the permanent
event-id dedupe, the applied stream sequence, indexes, counters and the
outbox of outcomes to publish.

# Basics

Open a DB with a workflow.Catalog, which decides the events:

	db, err := store.Open(path, store.Options{Catalog: catalog})
	...
	defer db.Close()

The engine fetches a batch of stream messages, hands it to DB.Apply, and
acks the batch once Apply has returned: Apply decides every envelope in
stream order and writes everything in one bbolt transaction, so the batch
costs one fsync (group commit) and is either wholly applied or not at all.
A redelivered batch is a no-op: envelopes at or below the applied
sequence are skipped, and an event id seen before, at any sequence, is
rejected as a duplicate. An outbox relay reads DB.PendingOutcomes,
publishes them and calls DB.MarkPublished. Supervisors read through
DB.Dossier, DB.History, DB.DossierHistory, DB.Verify, DB.VerifyAll,
DB.VerifyPage, DB.VerifyStore, DB.Dossiers, DB.Rejections,
DB.Mismatches, DB.Irregularities, DB.Counts, DB.Stats, and for the
dashboard DB.Deadlines (the due and overdue indexes), DB.Totals and
DB.IrregularityTallies (by agency and officer); DB.Backup copies the whole
file while Apply goes on. DB.Checkpoint summarises the store at
its applied sequence (state hash, Merkle root of the chain heads, digest
of the rejections and mismatches) for the engine to sign and publish, and
DB.CheckpointsAt recomputes that summary as of an earlier sequence from
the file as it is, for an auditor to compare (checkpoint.go).

# Schema

Version 7 (meta "schema"). Open upgrades a file of version 6 in place
before it returns: 7 changes only the layout (the history keyed by
dossier id), so the upgrade gives the store a rebuild would (upgrade.go:
in transactions of bounded size, resumed after a crash, a file of
version 6 until its last commit, progress logged). Open refuses a file of
an older version (ErrSchemaOld): the decisions of logged events changed
with 6, so such a file is rebuilt from the stream (hoso rebuild
--replace). Keys are ordered so that
related records sit together and appends go to the end of a bucket.
Sequences are big-endian uint64, so key order is sequence order. Records
are a compact binary form that starts with its format version
(codec.go); a history entry's index is that of its key, its dossier the
one whose record holds the key's id, its previous hash the hash of the
entry before it.

	meta                  "schema" -> version; "applied_seq" -> seq; "next_dossier_id" -> id
	counts                counter name -> uint64 (see keys.go)
	dossiers              code -> id, Dossier
	history               id(uint32) index(uint32) -> HistoryEntry (without code, index, previous hash)
	dedupe                event id (0x00 and 16 bytes for a UUID) -> seq(uvarint) of the message that carried it
	rejections            seq -> Rejection
	rej_by_dossier        code 0x00 seq -> ""
	rej_by_reason         reason 0x00 seq -> ""
	mismatches            seq -> Mismatch
	mis_by_dossier        code 0x00 seq -> ""
	irregularities        seq -> the Irregularity records of one accepted event
	irr_by_dossier        code 0x00 seq -> ""
	irr_by_kind           kind 0x00 seq -> "", once per kind of the event
	irr_tally             agency 0x00 kind 0x00 actor -> count, summed delay in seconds
	outbox                seq of its last outcome -> chunk: the outcomes of one batch (outbox.go)
	dossier_by_status     status(1 byte) code -> ""
	dossier_by_agency     agency 0x00 code -> ""
	dossier_by_procedure  procedure 0x00 code -> ""
	dossier_by_due        due(unix ns) code -> "", while the clock runs, until an expiry is recorded
	dossier_overdue       due(unix ns) code -> "", while overdue (expiry recorded) in status 2 or 4
	dossier_by_received   date("2006-01-02" in Vietnam) code -> "", once received (status 2 entered)
	dossier_paused        due(unix ns) code -> "", while the clock waits for the applicant (paused, unfinished)
	stats                 kind month("2006-01") 0x00 agency 0x00 procedure -> the month's counters: flows, and its receipt cohort (stats.go)
	gauges                kind agency 0x00 procedure -> gauge counters (stats.go)
	calendars             seq -> the calendar in force from that sequence on: the year files it
	                      gives that differ from the computed ones (calendar.go); 0 for the start
	snapshots             kind month("2006-01") 0x00 agency 0x00 procedure -> the gauges rows as they
	                      stood when the month's close was applied (period.go)
	periods               month("2006-01") -> seq and time (Unix ns) of the month's close (period.go)

History is one flat bucket rather than a nested bucket per dossier: a
dossier's entries are still contiguous (one Seek, then Next), a nested
bucket would cost a bucket header and an inline copy rewritten into its
parent on every append, and hundreds of thousands of small buckets make
bbolt's page accounting and its consistency check slow. The big-endian
index sorts a dossier's entries in order.

A dossier's id is internal: a uint32 numbered from 1 in the order Apply
creates the dossiers (from meta next_dossier_id), so it is a function of
the stream like the rest of the state, and never shown by the API, the
pages or the exports. A reader finds a dossier's entries through the id
of its record; the history keys take 8 bytes instead of the code's 30 or
so. The rejection, mismatch and irregularity indexes by dossier stay
keyed by code: they name codes no record holds (an event rejected for an
unknown dossier). When every id is given (4,294,967,295 dossiers), Apply
refuses a batch that would create another (ErrDossierIDsExhausted)
rather than wrap around to another dossier's history.

# Invariants

  - The applied sequence, every record and every counter change of a batch
    commit together. After a commit, for every stored dossier: its history
    holds exactly Dossier.History entries whose hash chain ends at
    Dossier.Head (workflow.VerifyChain), and each dossier index holds
    exactly one key for it, matching the record.
  - Each dossier record holds an id no other record holds, below meta
    next_dossier_id; the ids are the ranks of the dossiers in the order
    their first event was applied, and the history holds no key under an
    id no record holds.
  - Every event id Apply decided is in dedupe, forever, except those it
    rejected as duplicates (their id is there already).
  - The outbox holds one outcome per applied message until MarkPublished,
    in chunks of disjoint, increasing ranges of sequences, each under the
    sequence of its last outcome.
  - Counters equal what a scan would count: dossiers, per status, per
    agency and per procedure; history entries; rejections and per reason;
    mismatches; irregularities and per kind; outbox length. The irr_tally
    rows equal a recount of the irregularities by agency, kind and actor.
  - The stats and gauges rows equal the sum of workflow.StatsDelta(nil, d)
    over the stored dossiers, rollup rows (agency or procedure "*")
    included; no row is all zero. So they do not depend on how the stream
    was batched.
  - Dossier codes, event ids, agencies and procedures never contain 0x00
    and are at most 512 bytes: Apply records such an event as a malformed
    rejection instead of failing the batch forever.
  - Apply is deterministic: it reads no clock, and the state after a batch
    depends only on the state before, the envelopes and the catalog's
    definitions and working hours. The calendar is part of the state: the
    one the store started with is recorded with its first batch, and a
    calendar event (workflow.CalendarAction) records the one it puts in
    force and recomputes, in its batch, the dossiers it concerns (found
    in dossier_by_due and dossier_paused from the first day of its year,
    and in the batch's working set). DB.Catalog is the catalog in force.
    A period close (workflow.PeriodCloseAction) copies the gauges rows as
    they stand at its position — the stored rows plus the changes of the
    batch's earlier envelopes — into the snapshots of its month: snapshot
    rows are of a recorded period, hold gauges only, are never zero, and
    their rollup rows are the sums of the rows they roll up.
  - Byte slices from bbolt never leave their transaction: records are
    decoded into values the caller owns.

# Verification

The hash chain makes tampering with the history evident, and the rest of
the file is checked against it (verify.go). DB.Verify, DB.VerifyAll and
DB.VerifyPage check each dossier: its chain, its record against the fold
of its history under its definition (workflow.Catalog.CheckRecord), its
entries' sequences and dedupe keys, its counts of rejections and
mismatches. DB.VerifyStore checks, in one read transaction, that the
indexes, counters and statistics rows equal a recount of the records and
that the rejection, mismatch and outbox rows sit where they belong. Each
problem is a workflow.Finding naming the dossier and field, or the bucket
and key, with what was expected and what the file holds.

These checks see any edit that leaves the file inconsistent. An edit that
keeps it consistent, such as a rejection deleted together with every
counter and index key that counted it, or a chain rewritten with its
hashes recomputed together with the record, cannot be seen from inside
the file: the entry hashes senders received in their outcomes
(workflow.Outcome.EntryHash) and checkpoints signed outside the file
before the rewrite (they do not agree with DB.CheckpointsAt after it) can.

Open and Inspect refuse a file shorter than its bbolt meta page says
(ErrTruncated) before bbolt maps it: bbolt would fault (SIGBUS) on the
first page past the end instead of returning an error.

# Concurrency

A DB is safe for concurrent use by multiple goroutines. Apply and
MarkPublished take bbolt's single writer lock, so they run one at a time;
reads run in their own read transactions, see the last committed state
and do not block writers. Apply is meant to be called by one goroutine in
stream order: the applied sequence makes an out-of-order or repeated call
harmless, but envelopes below it are skipped, not applied.

A long read transaction keeps old pages alive and makes a writer that
needs to grow the file wait for it; listings are bounded by their Limit
and VerifyAll reads a few hundred dossiers per transaction.

Only one DB may have the file open: Open waits Options.Timeout for bbolt's
file lock and returns ErrLocked.
*/
package store
