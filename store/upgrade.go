package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"go.etcd.io/bbolt"
)

// The upgrade from schema 6 (upgradableSchema) to 7 gives every dossier
// its id and moves its history under the new keys. It changes no
// decision: the result is the file Apply would have written from the
// same stream, with the same state hash as a rebuild.
//
// A store of a province holds millions of entries, and bbolt keeps a
// transaction's dirty pages in memory until it commits, so the upgrade
// is many transactions of bounded size (upgradeConfig.chunkBytes), each
// recording how far it came in meta (metaUpgrade):
//
//  1. The order: the dossiers sorted by the stream sequence of their
//     history entry 0, the event that created them, which is the order
//     Apply numbers them in (a dossier record is only ever created with
//     its entry 0). Dossier n in that order gets id n (from 1). It is
//     computed again, the same, by a run that resumes: nothing it reads
//     changes before the last step.
//  2. The history, in id order, copied under the new keys into a bucket
//     of its own (bucketUpgrade/history), beside the old one.
//  3. The dossier records, in code order, rewritten in place with their
//     ids (upgradeRecord).
//  4. One last transaction deletes the old history bucket, moves the new
//     one into its place, records the next id and schema 7, and forgets
//     the progress.
//
// Until that last commit the file is of schema 6: a crash at any point
// leaves a file that Open upgrades again, from where the last committed
// step left off, and no reader ever sees a file half upgraded.

// Names of the upgrade's progress.
const (
	// bucketUpgrade holds the history under the new keys while the
	// upgrade runs (a bucket named bucketHistory inside it); it exists
	// only in a file of schema 6 whose upgrade has begun.
	bucketUpgrade = "upgrade_7"
	// metaUpgrade is the upgrade's progress: the step (1 byte:
	// upgradeHistory or upgradeRecords) and how many dossiers it has
	// done (big-endian uint64), in id order for the history and in code
	// order for the records.
	metaUpgrade = "upgrade_7"
)

// Steps of the upgrade recorded in metaUpgrade.
const (
	upgradeHistory = 1
	upgradeRecords = 2
)

// upgradeConfig tunes upgradeSchema.
type upgradeConfig struct {
	// chunkBytes bounds the bytes of keys and values a transaction
	// writes (its dirty pages are held in memory until it commits).
	chunkBytes int
	// every is the least time between two progress logs.
	every time.Duration
	// now is the clock of the progress logs.
	now func() time.Time
	// fault, if set, is called before each commit with the number of
	// the transaction (from 1) and its step (upgradeHistory,
	// upgradeRecords, 0 for the last); an error it returns aborts the
	// upgrade there, as a crash would (tests).
	fault func(tx int, step byte) error
}

// defaultUpgrade is the configuration Open upgrades with: 32 MiB per
// transaction, a progress log every 5 seconds.
var defaultUpgrade = upgradeConfig{chunkBytes: 32 << 20, every: 5 * time.Second, now: time.Now}

// upgradeOrder is the order of a schema-6 file's dossiers.
type upgradeOrder struct {
	codes   []string // in code order
	ids     []uint32 // ids[i] is the id of codes[i]
	byID    []int32  // byID[n] is the index in codes of the dossier of id n+1
	entries uint64   // history entries (the counter)
}

// upgradeSchema upgrades the schema-6 file bdb holds to schema 7,
// resuming the progress an earlier run recorded. It logs its start, its
// progress at most every cfg.every with an estimate of the time left, and
// its end.
func upgradeSchema(bdb *bbolt.DB, logger *slog.Logger, path string, cfg upgradeConfig) error {
	start := cfg.now()
	logger.Info("store upgrading", "path", path, "from_schema", upgradableSchema, "to_schema", schemaVersion,
		"why", "the history is keyed by a short dossier id; it runs once, and resumes if stopped")
	var (
		ord          upgradeOrder
		step         byte
		done         uint64
		resumed      bool
		hasStaging   bool
		progressSeen bool
	)
	err := bdb.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		if v := meta.Get([]byte(metaUpgrade)); v != nil {
			if len(v) != 9 || (v[0] != upgradeHistory && v[0] != upgradeRecords) {
				return fmt.Errorf("%w: upgrade progress % x", errBadRecord, v)
			}
			step, done, progressSeen = v[0], binary.BigEndian.Uint64(v[1:]), true
		}
		hasStaging = tx.Bucket([]byte(bucketUpgrade)) != nil
		var err error
		ord, err = upgradeOrderOf(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrade to schema %d: %w", schemaVersion, err)
	}
	n := uint64(len(ord.codes))
	if !progressSeen {
		step, done = upgradeHistory, 0
	} else {
		resumed = true
	}
	if done > n {
		return fmt.Errorf("upgrade to schema %d: progress %d past the %d dossiers", schemaVersion, done, n)
	}
	logger.Info("store upgrade plan", "dossiers", n, "entries", ord.entries, "resumed", resumed,
		"step", step, "done", done)

	u := &upgrader{bdb: bdb, logger: logger, cfg: cfg, ord: &ord, begun: cfg.now(), last: cfg.now(),
		total: ord.entries + n}
	if step == upgradeHistory {
		if !progressSeen && hasStaging {
			// Cannot happen (the staging bucket and the progress
			// commit together), but a leftover is dropped rather than
			// trusted.
			if err := bdb.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte(bucketUpgrade)) }); err != nil {
				return fmt.Errorf("upgrade to schema %d: %w", schemaVersion, err)
			}
		}
		if err := u.history(done); err != nil {
			return fmt.Errorf("upgrade to schema %d: history: %w", schemaVersion, err)
		}
		done = 0
	} else {
		u.done = ord.entries + done // the history is copied, records up to done rewritten
		u.atStart = u.done
	}
	if err := u.records(done); err != nil {
		return fmt.Errorf("upgrade to schema %d: dossier records: %w", schemaVersion, err)
	}
	if err := u.swap(); err != nil {
		return fmt.Errorf("upgrade to schema %d: %w", schemaVersion, err)
	}
	logger.Info("store upgraded", "path", path, "from_schema", upgradableSchema, "to_schema", schemaVersion,
		"dossiers", n, "entries", ord.entries, "took", cfg.now().Sub(start).Round(time.Millisecond))
	return nil
}

// upgradeOrderOf reads the order of the dossiers of a schema-6 file: each
// dossier's code and the sequence of its history entry 0, under the
// schema-6 keys (code 0x00 index).
func upgradeOrderOf(tx *bbolt.Tx) (upgradeOrder, error) {
	var ord upgradeOrder
	entries, err := decodeUint64(tx.Bucket([]byte(bucketCounts)).Get([]byte(countEntries)))
	if err != nil {
		return ord, fmt.Errorf("count of entries: %w", err)
	}
	ord.entries = entries
	var seqs []uint64
	hc := tx.Bucket([]byte(bucketHistory)).Cursor()
	c := tx.Bucket([]byte(bucketDossiers)).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		code := string(k)
		hk, hv := hc.Seek(schema6HistoryKey(code, 0))
		if !bytes.Equal(hk, schema6HistoryKey(code, 0)) {
			return ord, fmt.Errorf("dossier %q has no history entry 0: the file cannot be upgraded, rebuild it from the stream (hoso rebuild --replace)", code)
		}
		e, err := readHeadEntry(hv)
		if err != nil {
			return ord, fmt.Errorf("history of %q: entry 0: %w", code, err)
		}
		ord.codes = append(ord.codes, code)
		seqs = append(seqs, e.seq)
	}
	if uint64(len(ord.codes)) > math.MaxUint32 {
		return ord, ErrDossierIDsExhausted
	}
	ord.byID = make([]int32, len(ord.codes))
	for i := range ord.byID {
		ord.byID[i] = int32(i)
	}
	slices.SortFunc(ord.byID, func(a, b int32) int { return cmp.Compare(seqs[a], seqs[b]) })
	ord.ids = make([]uint32, len(ord.codes))
	for n, i := range ord.byID {
		if n > 0 && seqs[i] == seqs[ord.byID[n-1]] {
			return ord, fmt.Errorf("dossiers %q and %q were both created at sequence %d", ord.codes[ord.byID[n-1]], ord.codes[i], seqs[i])
		}
		ord.ids[i] = uint32(n + 1)
	}
	return ord, nil
}

// schema6HistoryKey returns the key of a history entry in schema 6: code
// 0x00 index(uint32 big-endian).
func schema6HistoryKey(code string, index int) []byte {
	return binary.BigEndian.AppendUint32(append(append(make([]byte, 0, len(code)+5), code...), sep), uint32(index))
}

// upgradeRecord returns the schema-7 form of a dossier record v with the
// id: v with its format version (1) replaced by dossierVersion and the id.
// A record already of that form with that id (a resumed upgrade) is
// returned as it is.
func upgradeRecord(v []byte, id uint32) ([]byte, error) {
	switch {
	case len(v) > 0 && v[0] == recordVersion:
		out := binary.AppendUvarint(append(make([]byte, 0, len(v)+5), dossierVersion), uint64(id))
		return append(out, v[1:]...), nil
	case len(v) > 0 && v[0] == dossierVersion:
		if got, err := dossierIDOf(v); err != nil || got != id {
			return nil, fmt.Errorf("%w: a record of version %d with id %d, want %d (%v)", errBadRecord, dossierVersion, got, id, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: not a dossier record of version %d", errBadRecord, recordVersion)
}

// upgrader runs the steps of upgradeSchema that write.
type upgrader struct {
	bdb    *bbolt.DB
	logger *slog.Logger
	cfg    upgradeConfig
	ord    *upgradeOrder
	txs    int // transactions committed or tried

	// Progress, in units of work: an entry copied or a record
	// rewritten.
	total, done, atStart uint64
	begun, last          time.Time
}

// commit runs fn in a write transaction that ends by recording the
// progress (step, done), and commits it unless cfg.fault says otherwise.
func (u *upgrader) commit(step byte, fn func(tx *bbolt.Tx) (done uint64, err error)) error {
	u.txs++
	return u.bdb.Update(func(tx *bbolt.Tx) error {
		done, err := fn(tx)
		if err != nil {
			return err
		}
		p := binary.BigEndian.AppendUint64([]byte{step}, done)
		if err := tx.Bucket([]byte(bucketMeta)).Put([]byte(metaUpgrade), p); err != nil {
			return err
		}
		if u.cfg.fault != nil {
			return u.cfg.fault(u.txs, step)
		}
		return nil
	})
}

// history copies the history of the dossiers of ids from+1 on into the
// staging bucket under their new keys, in id order.
func (u *upgrader) history(from uint64) error {
	ord := u.ord
	// The entries of the dossiers done are copied already.
	err := u.bdb.View(func(tx *bbolt.Tx) error {
		if st := tx.Bucket([]byte(bucketUpgrade)); st != nil {
			if h := st.Bucket([]byte(bucketHistory)); h != nil {
				u.done = uint64(h.Stats().KeyN)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	u.atStart = u.done
	for pos := from; pos < uint64(len(ord.codes)) || pos == 0; {
		err := u.commit(upgradeHistory, func(tx *bbolt.Tx) (uint64, error) {
			st, err := tx.CreateBucketIfNotExists([]byte(bucketUpgrade))
			if err != nil {
				return 0, err
			}
			dst, err := st.CreateBucketIfNotExists([]byte(bucketHistory))
			if err != nil {
				return 0, err
			}
			// The copy appends in key order: full pages, which Apply
			// splits as it inserts into the last ones.
			dst.FillPercent = 1.0
			c := tx.Bucket([]byte(bucketHistory)).Cursor()
			written := 0
			for ; pos < uint64(len(ord.codes)) && written < u.cfg.chunkBytes; pos++ {
				code := ord.codes[ord.byID[pos]]
				id := uint32(pos + 1)
				prefix := prefixKey(code)
				for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
					if len(k) != len(prefix)+4 {
						return 0, fmt.Errorf("%w: history key %q is not code 0x00 index", errBadRecord, k)
					}
					index := int(binary.BigEndian.Uint32(k[len(prefix):]))
					// v is bbolt's, valid for the transaction: Put keeps
					// it until the commit, and bbolt copies what its
					// nodes refer to before it remaps the file.
					if err := dst.Put(historyKey(id, index), v); err != nil {
						return 0, err
					}
					written += historyKeyLen + len(v)
					u.done++
				}
			}
			return pos, nil
		})
		if err != nil {
			return err
		}
		u.log("history", pos, uint64(len(ord.codes)))
		if pos == 0 {
			break // no dossiers: the staging bucket is made, nothing to copy
		}
	}
	return nil
}

// records rewrites the dossier records from the index from on (in code
// order) with their ids.
func (u *upgrader) records(from uint64) error {
	ord := u.ord
	for pos := from; pos < uint64(len(ord.codes)); {
		err := u.commit(upgradeRecords, func(tx *bbolt.Tx) (uint64, error) {
			bk := tx.Bucket([]byte(bucketDossiers))
			written := 0
			for ; pos < uint64(len(ord.codes)) && written < u.cfg.chunkBytes; pos++ {
				code := ord.codes[pos]
				v := bk.Get([]byte(code))
				if v == nil {
					return 0, fmt.Errorf("dossier %q: the record is gone", code)
				}
				nv, err := upgradeRecord(v, ord.ids[pos])
				if err != nil {
					return 0, fmt.Errorf("dossier %q: %w", code, err)
				}
				if err := bk.Put([]byte(code), nv); err != nil {
					return 0, err
				}
				written += len(code) + len(nv)
				u.done++
			}
			return pos, nil
		})
		if err != nil {
			return err
		}
		u.log("records", pos, uint64(len(ord.codes)))
	}
	return nil
}

// swap puts the new history in place of the old, in one transaction.
// Deleting the old bucket frees its pages without writing them.
func (u *upgrader) swap() error {
	u.txs++
	return u.bdb.Update(func(tx *bbolt.Tx) error {
		st := tx.Bucket([]byte(bucketUpgrade))
		if st == nil || st.Bucket([]byte(bucketHistory)) == nil {
			return errors.New("the new history is missing")
		}
		if err := tx.DeleteBucket([]byte(bucketHistory)); err != nil {
			return fmt.Errorf("delete the old history: %w", err)
		}
		if err := tx.MoveBucket([]byte(bucketHistory), st, nil); err != nil {
			return fmt.Errorf("move the new history: %w", err)
		}
		if err := tx.DeleteBucket([]byte(bucketUpgrade)); err != nil {
			return err
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if len(u.ord.codes) > 0 {
			if err := meta.Put([]byte(metaNextDossierID), encodeUint64(uint64(len(u.ord.codes))+1)); err != nil {
				return err
			}
		}
		if err := meta.Delete([]byte(metaUpgrade)); err != nil {
			return err
		}
		if err := meta.Put([]byte(metaSchema), encodeUint64(schemaVersion)); err != nil {
			return err
		}
		if u.cfg.fault != nil {
			return u.cfg.fault(u.txs, 0)
		}
		return nil
	})
}

// log logs the progress of a step if cfg.every has passed since the last
// log, with the time left at the rate of this run.
func (u *upgrader) log(step string, pos, of uint64) {
	now := u.cfg.now()
	if now.Sub(u.last) < u.cfg.every {
		return
	}
	u.last = now
	var left time.Duration
	if rate := float64(u.done-u.atStart) / now.Sub(u.begun).Seconds(); rate > 0 && u.total > u.done {
		left = time.Duration(float64(u.total-u.done) / rate * float64(time.Second)).Round(time.Second)
	}
	u.logger.Info("store upgrade progress", "step", step, "dossiers_done", pos, "dossiers", of,
		"percent", u.done*100/max(u.total, 1), "left", left)
}
