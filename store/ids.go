package store

import (
	"errors"
	"fmt"
	"math"

	"go.etcd.io/bbolt"
)

// ErrDossierIDsExhausted is returned by Apply for a batch that creates a
// dossier when every dossier id has been given (math.MaxUint32 dossiers):
// the batch is refused, never given an id that wraps around to another
// dossier's history.
var ErrDossierIDsExhausted = errors.New("store: every dossier id is taken (4,294,967,295 dossiers); the store cannot create another")

// idAlloc gives the dossiers a batch creates their ids, in the order it
// creates them: the next id is read from meta at the first, and written
// back with the batch.
type idAlloc struct {
	next   uint64 // the id the next dossier gets; 0 until read
	dirty  bool   // next must be written
	loaded bool
}

// assign returns the id of a dossier the batch creates.
func (a *idAlloc) assign(meta *bbolt.Bucket) (uint32, error) {
	if !a.loaded {
		n, err := nextDossierID(meta)
		if err != nil {
			return 0, err
		}
		a.next, a.loaded = n, true
	}
	if a.next > math.MaxUint32 {
		return 0, ErrDossierIDsExhausted
	}
	id := uint32(a.next)
	a.next++
	a.dirty = true
	return id, nil
}

// write records the next id in meta if the batch gave any.
func (a *idAlloc) write(meta *bbolt.Bucket) error {
	if !a.dirty {
		return nil
	}
	if err := meta.Put([]byte(metaNextDossierID), encodeUint64(a.next)); err != nil {
		return fmt.Errorf("next dossier id: %w", err)
	}
	return nil
}

// nextDossierID reads the id the next dossier gets: 1 in a store that
// has none.
func nextDossierID(meta *bbolt.Bucket) (uint64, error) {
	n, err := decodeUint64(meta.Get([]byte(metaNextDossierID)))
	if err != nil {
		return 0, fmt.Errorf("next dossier id: %w", err)
	}
	return max(n, 1), nil
}
