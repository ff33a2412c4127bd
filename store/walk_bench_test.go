package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// BenchmarkListings measures one page of each listing of dossiers over
// 20,000 dossiers in progress across 20 agencies, their clocks running,
// one in seven overdue: Dossiers by an index and by a filter the walk
// checks on records, Deadlines filtered and descending, Due.
func BenchmarkListings(b *testing.B) {
	const dossiers, agencies = 20_000, 20
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var (
		envs []workflow.Envelope
		seq  uint64
	)
	add := func(e *workflow.Event) {
		seq++
		envs = append(envs, workflow.Envelope{Seq: seq, Subject: "hoso.events." + e.Source + "." + workflow.DossierToken(e.Dossier),
			Published: e.Time, Event: e})
		if len(envs) == 1024 {
			if _, err := db.Apply(ctx, envs); err != nil {
				b.Fatal(err)
			}
			envs = envs[:0]
		}
	}
	for i := range dossiers {
		code := fmt.Sprintf("000.00.12.H57-250804-%05d", i)
		ag := agency(fmt.Sprintf("A%02d", i%agencies))
		dueAt := t0.Add(time.Duration(i) * time.Minute * 7)
		add(event(code+"/1", "receive", code, 0, ag, attach(workflow.AttachmentInputDigitized), due(dueAt)))
		add(event(code+"/2", "assign", code, 1, ag, department("p")))
		if i%7 == 0 {
			add(expire(code, dueAt, 60*24*200))
		}
	}
	if _, err := db.Apply(ctx, envs); err != nil {
		b.Fatal(err)
	}
	yes := true
	until := t0.AddDate(0, 0, 60)
	for _, c := range []struct {
		name string
		list func() ([]workflow.Dossier, string, error)
	}{
		{"Dossiers/status", func() ([]workflow.Dossier, string, error) {
			return db.Dossiers(ctx, workflow.DossierQuery{Status: workflow.StatusProcessing})
		}},
		{"Dossiers/overdue_agency", func() ([]workflow.Dossier, string, error) {
			return db.Dossiers(ctx, workflow.DossierQuery{Overdue: &yes, Agency: "A07"})
		}},
		{"Deadlines/overdue_agency", func() ([]workflow.Dossier, string, error) {
			return db.Deadlines(ctx, workflow.DeadlineQuery{Overdue: true, Agency: "A07"})
		}},
		{"Deadlines/due_until_desc", func() ([]workflow.Dossier, string, error) {
			return db.Deadlines(ctx, workflow.DeadlineQuery{Until: until, Desc: true})
		}},
		{"Due/1000", func() ([]workflow.Dossier, string, error) {
			return db.Due(ctx, until, "", 1000)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list, next, err := c.list()
				if err != nil || len(list) == 0 || next == "" {
					b.Fatalf("%s = %d dossiers, next %q, %v; want a full page", c.name, len(list), next, err)
				}
			}
		})
	}
}
