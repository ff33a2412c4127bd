package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/hoso-vn/hoso/workflow"
)

// lookupChunk is how many codes DossiersByCode reads per read transaction.
const lookupChunk = 4096

// DossiersByCode returns the dossiers of the codes, keyed by code; a code
// with no dossier is absent from the map. It reads a few thousand codes
// per read transaction, in code order, so that a long lookup never keeps
// one transaction open: each dossier is as of one commit, but the
// dossiers of different chunks may be of different commits.
func (db *DB) DossiersByCode(ctx context.Context, codes []string) (map[string]*workflow.Dossier, error) {
	sorted := slices.Clone(codes)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make(map[string]*workflow.Dossier, len(sorted))
	for start := 0; start < len(sorted); start += lookupChunk {
		chunk := sorted[start:min(start+lookupChunk, len(sorted))]
		err := db.view(ctx, func(b *buckets) error {
			for i, code := range chunk {
				if i%ctxEvery == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				v := b.dossiers.Get([]byte(code))
				if v == nil {
					continue
				}
				d := new(workflow.Dossier)
				if err := decodeDossier(v, d); err != nil {
					return fmt.Errorf("dossier %q: %w", code, err)
				}
				out[code] = d
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("look up %d dossiers: %w", len(codes), err)
		}
	}
	return out, nil
}
