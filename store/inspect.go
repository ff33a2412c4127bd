package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hoso-vn/hoso/workflow"
)

// FileInfo describes a store file, as Inspect finds it.
type FileInfo struct {
	Schema     uint64        // schema version the file was written with
	AppliedSeq uint64        // stream sequence of the last message applied
	StateHash  workflow.Hash // see DB.StateHash
	Size       int64         // bytes
}

// Inspect opens the store file at path read-only, checks that it holds
// every page its bbolt meta page counts (else an error wrapping
// ErrTruncated or ErrNotStore) and bbolt's consistency of every page
// (tx.Check), and returns its schema version, applied
// sequence and state hash. It never writes the file. It returns ErrLocked
// when a DB holds the file, and an error wrapping ErrSchemaOld or
// ErrSchemaTooNew when this build cannot open it (with FileInfo filled).
// A file of the version Open upgrades in place (schema 6) is inspected as
// it is, never upgraded: its FileInfo says schema 6, and its state hash
// is that of its schema-6 layout, which the upgrade changes.
func Inspect(ctx context.Context, path string) (FileInfo, error) {
	var fi FileInfo
	if err := checkFileSize(path); err != nil {
		return fi, fmt.Errorf("inspect %s: %w", path, err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fi, fmt.Errorf("inspect %s: %w", path, ErrLocked)
	}
	if err != nil {
		return fi, fmt.Errorf("inspect %s: %w", path, err)
	}
	defer b.Close()
	err = b.View(func(tx *bbolt.Tx) error {
		fi.Size = tx.Size()
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
			if len(errs) == 10 {
				break
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("consistency check: %w", errors.Join(errs...))
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if meta == nil {
			return errors.New("not a hoso store: no meta bucket")
		}
		if fi.Schema, err = decodeUint64(meta.Get([]byte(metaSchema))); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		switch {
		case fi.Schema > schemaVersion:
			return fmt.Errorf("%w: file has version %d, this build knows up to %d", ErrSchemaTooNew, fi.Schema, schemaVersion)
		case fi.Schema < upgradableSchema:
			return schemaOldError(fi.Schema)
		}
		bk, err := openBuckets(tx)
		if err != nil {
			return err
		}
		if fi.AppliedSeq, err = appliedSeq(bk.meta); err != nil {
			return err
		}
		fi.StateHash, err = stateHash(ctx, bk)
		return err
	})
	if err != nil {
		return fi, fmt.Errorf("inspect %s: %w", path, err)
	}
	return fi, nil
}
