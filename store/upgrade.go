package store

import (
	"bytes"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// upgrade brings a file of version from (oldestUpgradable to
// schemaVersion-1) to schemaVersion in the transaction tx, one version
// after the other, so that the file is either upgraded whole or not at
// all.
func upgrade(tx *bbolt.Tx, cat *workflow.Catalog, from uint64) error {
	if from < 4 {
		if err := upgradeOutbox(tx); err != nil {
			return err
		}
	}
	if from < 5 {
		if err := upgradeOnline(tx, cat); err != nil {
			return err
		}
	}
	return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaSchema), encodeUint64(schemaVersion))
}

// upgradeOnline sets Dossier.Online on the dossiers whose first history
// entry put them in status 1 (submitted online), and adds their online
// receipts to the statistics rows: the store Apply would have written had
// it known the flag from the start.
func upgradeOnline(tx *bbolt.Tx, cat *workflow.Catalog) error {
	b, err := openBuckets(tx)
	if err != nil {
		return fmt.Errorf("upgrade online: %w", err)
	}
	var online [][]byte // codes, in order; the dossiers are rewritten after the walk
	err = b.dossiers.ForEach(func(code, _ []byte) error {
		k := historyKey(string(code), 0)
		v := b.history.Get(k)
		if v == nil {
			return fmt.Errorf("dossier %q has no history", code)
		}
		var e workflow.HistoryEntry
		if err := decodeEntry(k, v, workflow.Hash{}, &e); err != nil {
			return fmt.Errorf("first history entry of %q: %w", code, err)
		}
		if e.ToStatus == workflow.StatusSubmitted {
			online = append(online, bytes.Clone(code))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upgrade online: %w", err)
	}
	s := newStatsDeltas()
	for _, code := range online {
		var old workflow.Dossier
		if err := decodeDossier(b.dossiers.Get(code), &old); err != nil {
			return fmt.Errorf("upgrade online: dossier %q: %w", code, err)
		}
		d := old.Clone()
		d.Online = true
		s.add(cat, &old, d)
		if err := b.dossiers.Put(code, appendDossier(nil, d)); err != nil {
			return fmt.Errorf("upgrade online: dossier %q: %w", code, err)
		}
	}
	if err := s.write(b); err != nil {
		return fmt.Errorf("upgrade online: %w", err)
	}
	// Rows the upgrade did not change still have the shorter layout of
	// version 4: write them in the current one, so that the file has the
	// bytes, and the state hash, of a store built by this version.
	for _, bk := range []*bbolt.Bucket{b.stats, b.gauges} {
		if err := reencodeRows(bk); err != nil {
			return fmt.Errorf("upgrade online: %w", err)
		}
	}
	return nil
}

// reencodeRows writes every counter row of bk not in the current layout
// (tallySize bytes) again in it.
func reencodeRows(bk *bbolt.Bucket) error {
	var keys [][]byte
	err := bk.ForEach(func(k, v []byte) error {
		if len(v) != tallySize {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		t, err := decodeTally(bk.Get(k))
		if err != nil {
			return fmt.Errorf("stats row %q: %w", k, err)
		}
		if err := bk.Put(k, encodeTally(&t)); err != nil {
			return err
		}
	}
	return nil
}
