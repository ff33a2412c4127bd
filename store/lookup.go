package store

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/workflow"
)

// Lookup returns the dossier with the code for the public lookup, with
// ok false when no dossier has it: the record whose Lookup is the digest
// the applicant's secret is checked against (workflow.Dossier.LookupMatches),
// zero when no event gave one. It reads one key of one bucket in a read
// transaction of its own, so that guesses cost the store little; it is
// safe for concurrent use with Apply and every other read.
func (db *DB) Lookup(ctx context.Context, code string) (d workflow.Dossier, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return d, false, err
	}
	err = closedErr(db.bolt.View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(bucketDossiers))
		if bk == nil {
			return fmt.Errorf("store: bucket %s is missing", bucketDossiers)
		}
		v := bk.Get([]byte(code))
		if v == nil {
			return nil
		}
		ok = true
		return decodeDossier(v, &d)
	}))
	if err != nil {
		return workflow.Dossier{}, false, fmt.Errorf("lookup %q: %w", code, err)
	}
	return d, ok, nil
}
