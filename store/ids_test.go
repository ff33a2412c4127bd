package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

// idOf returns the id the record of the dossier with the code holds; 0
// when there is none or it does not decode.
func (b *buckets) idOf(code string) uint32 {
	v := b.dossiers.Get([]byte(code))
	if v == nil {
		return 0
	}
	id, err := dossierIDOf(v)
	if err != nil {
		return 0
	}
	return id
}

// historyKeyOf returns the key of entry index of the dossier with the
// code, found by the id of its record.
func (b *buckets) historyKeyOf(code string, index int) []byte {
	return historyKey(b.idOf(code), index)
}

// storeIDs returns the id of every dossier record, by code.
func storeIDs(t *testing.T, db *DB) map[string]uint32 {
	t.Helper()
	ids := map[string]uint32{}
	err := db.view(context.Background(), func(b *buckets) error {
		c := b.dossiers.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			id, err := dossierIDOf(v)
			if err != nil {
				return err
			}
			ids[string(k)] = id
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// creationStream creates n dossiers in an order that is not the order of
// their codes, with their flows interleaved: dossier i is created at
// position i, code perm(i). It returns the events and the codes in the
// order of creation.
func creationStream(n int) (evs []*workflow.Event, created []string) {
	const window = 7 // dossiers in flight
	flows := make([][]*workflow.Event, n)
	for i := range n {
		code := fmt.Sprintf("000.00.12.H57-250804-%04d", (i*37+11)%n)
		created = append(created, code)
		flows[i] = standardFlow(code, i)
		if i%5 == 0 { // a rejection, and a claim that differs: rows that name the dossier
			flows[i] = append(flows[i][:2:2], append([]*workflow.Event{
				event(code+"/r", "return", code, i+1, claims(workflow.StatusReturned)),
			}, flows[i][2:]...)...)
		}
	}
	// Round-robin over a window of dossiers: each takes its next step.
	next := make([]int, n)
	for lo := 0; lo < n; {
		for i := lo; i < min(lo+window, n); i++ {
			if next[i] < len(flows[i]) {
				evs = append(evs, flows[i][next[i]])
				next[i]++
			}
		}
		for lo < n && next[lo] == len(flows[lo]) {
			lo++
		}
	}
	return evs, created
}

// TestDossierIDsInCreationOrder: a dossier's id is its rank in the order
// Apply created the dossiers, whatever the order of their codes and the
// batch sizes, and the next id follows the last.
func TestDossierIDsInCreationOrder(t *testing.T) {
	const n = 40
	evs, created := creationStream(n)
	for _, size := range []int{1, 3, 64, len(evs)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t, nil)
			envs := h.envelopes(evs...)
			for len(envs) > 0 {
				k := min(size, len(envs))
				h.apply(envs[:k])
				envs = envs[k:]
			}
			ids := storeIDs(t, h.db)
			if len(ids) != n {
				t.Fatalf("%d dossiers stored, want %d", len(ids), n)
			}
			for i, code := range created {
				if ids[code] != uint32(i+1) {
					t.Errorf("id of %s = %d, want %d (created %d-th)", code, ids[code], i+1, i+1)
				}
			}
			err := h.db.view(context.Background(), func(b *buckets) error {
				next, err := nextDossierID(b.meta)
				if err != nil || next != n+1 {
					t.Errorf("next dossier id = %d, %v; want %d", next, err, n+1)
				}
				// Every history key is id index, 8 bytes.
				c := b.history.Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if len(k) != historyKeyLen {
						t.Fatalf("history key %q is %d bytes, want %d", k, len(k), historyKeyLen)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDossierIDsExhausted: the last id is given, and a dossier past it
// fails its batch rather than wrap around to another's history.
func TestDossierIDsExhausted(t *testing.T) {
	h := newHarness(t, nil)
	h.applyEach(standardFlow(code1, 0)[:1]...)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	tamper(t, h.path, func(b *buckets) error {
		return b.meta.Put([]byte(metaNextDossierID), encodeUint64(math.MaxUint32))
	})
	h.open()
	h.applyEach(standardFlow(code2, 10)[:1]...)
	if ids := storeIDs(t, h.db); ids[code2] != math.MaxUint32 {
		t.Errorf("id of the dossier given the last id = %d, want %d", ids[code2], uint32(math.MaxUint32))
	}
	before, err := h.db.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	envs := h.envelopes(standardFlow(code3, 20)[:1]...)
	if _, err := h.db.Apply(context.Background(), envs); !errors.Is(err, ErrDossierIDsExhausted) {
		t.Errorf("Apply(a new dossier past the last id) = %v, want ErrDossierIDsExhausted", err)
	}
	// An existing dossier goes on.
	h.seq--
	h.applyEach(standardFlow(code1, 0)[1:2]...)
	if after, err := h.db.StateHash(context.Background()); err != nil || after == before {
		t.Errorf("state after an event of an existing dossier = %s, %v; want changed", after, err)
	}
	if _, err := h.db.Dossier(context.Background(), code3); !errors.Is(err, workflow.ErrNotFound) {
		t.Errorf("Dossier(%s) after the refused batch = %v, want not found", code3, err)
	}
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	// The file is consistent for the cleanup's check but for the tampered
	// next id, which verification reports: put it back past the ids.
	tamper(t, h.path, func(b *buckets) error {
		return b.meta.Put([]byte(metaNextDossierID), encodeUint64(math.MaxUint32+1))
	})
	h.open()
}
