package store

import (
	"context"
	"fmt"
	"time"

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
			// A miss decodes a stand-in record, as a hit decodes the
			// dossier's: the two take the same work, so that the time of
			// an answer does not say whether the code exists.
			var scratch workflow.Dossier
			return decodeDossier(lookupStandIn, &scratch)
		}
		ok = true
		return decodeDossier(v, &d)
	}))
	if err != nil {
		return workflow.Dossier{}, false, fmt.Errorf("lookup %q: %w", code, err)
	}
	return d, ok, nil
}

// lookupStandIn is the record a lookup of an unknown code decodes: a
// dossier of the usual size, received, assigned, with a due date, a
// digest and a few attachments.
var lookupStandIn = func() []byte {
	t := time.Date(2025, 9, 1, 8, 15, 0, 0, workflow.Zone)
	d := workflow.Dossier{
		Code: "000.00.12.H57-250901-0001", Procedure: "1.004227", Agency: "H57.12", Source: "motcua-tinh",
		Definition: "standard", Version: 1, State: "processing", Status: 4, Department: "phong-tu-phap",
		Due: t.AddDate(0, 0, 14), OriginalDue: t.AddDate(0, 0, 14), ReceivedAt: t, CreatedAt: t, UpdatedAt: t.Add(time.Hour),
		Attachments: []string{"input_digitized", "supplement_request"}, History: 3, Channel: workflow.ChannelDesk,
		Lookup: [32]byte{1},
	}
	return appendDossier(nil, 1, &d)
}()
