package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// benchStream generates an endless stream of standard-flow events over a
// window of dossiers in flight: event k belongs to slot k%active, at the
// step (k/active)%5 of its flow; after the fifth step the slot starts a new
// dossier. A batch of consecutive events thus touches that many different
// dossiers, as the stream of a province would.
type benchStream struct {
	active int
	k      int
	seq    uint64
}

var benchSteps = []struct {
	action string
	opts   []func(*workflow.Event)
}{
	{"receive", []func(*workflow.Event){attach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 10))}},
	{"assign", []func(*workflow.Event){department("phong-tn")}},
	{"transfer", []func(*workflow.Event){department("phong-kt")}},
	{"resolve", []func(*workflow.Event){attach(workflow.AttachmentResultElectronic)}},
	{"return", nil},
}

// next returns the next n envelopes of the stream.
func (s *benchStream) next(n int) []workflow.Envelope {
	envs := make([]workflow.Envelope, n)
	for i := range envs {
		slot, round := s.k%s.active, s.k/s.active
		step := benchSteps[round%len(benchSteps)]
		code := fmt.Sprintf("000.00.12.H57-%06d-%04d", round/len(benchSteps), slot)
		e := event(fmt.Sprintf("%s/%d", code, round%len(benchSteps)), step.action, code, 0, step.opts...)
		e.Time = t0.Add(time.Duration(s.k) * time.Second)
		s.k++
		s.seq++
		envs[i] = workflow.Envelope{Seq: s.seq, Subject: "hoso.events.tayninh." + workflow.DossierToken(code), Published: e.Time, Event: e}
	}
	return envs
}

const (
	benchBatch    = 256  // envelopes per batch
	benchDossiers = 1000 // dossiers in flight
)

// benchApply applies benchBatch events per iteration, in batches of
// batchSize, and reports events/s.
func benchApply(b *testing.B, batchSize int, noSync bool) {
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s := &benchStream{active: benchDossiers}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		envs := s.next(benchBatch)
		for i := 0; i < len(envs); i += batchSize {
			res, err := db.Apply(ctx, envs[i:min(i+batchSize, len(envs))])
			if err != nil {
				b.Fatal(err)
			}
			if res.Rejected != 0 {
				b.Fatalf("Apply rejected %d events: %+v", res.Rejected, res.Outcomes[0])
			}
		}
		events += len(envs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyBatch applies batches of 256 events over 1,000 dossiers in
// flight, durably: one transaction and one fsync per batch.
func BenchmarkApplyBatch(b *testing.B) { benchApply(b, benchBatch, false) }

// BenchmarkApplyNaive applies the same events one envelope per Apply call:
// one transaction and one fsync per event.
func BenchmarkApplyNaive(b *testing.B) { benchApply(b, 1, false) }

// BenchmarkApplyBatchNoSync is BenchmarkApplyBatch without fsync: the
// cost of deciding and writing alone.
func BenchmarkApplyBatchNoSync(b *testing.B) { benchApply(b, benchBatch, true) }

// realisticSteps is the flow of a dossier in BenchmarkStoreSize: ten
// transitions, with the attachments (named, with their SHA-256) and
// departments a one-stop-shop sends.
var realisticSteps = []struct {
	action string
	opts   []func(*workflow.Event)
}{
	{"submit", nil},
	{"receive", []func(*workflow.Event){hashedAttach(workflow.AttachmentInputDigitized), due(t0.AddDate(0, 0, 15))}},
	{"assign", []func(*workflow.Event){department("phong-tn")}},
	{"transfer", []func(*workflow.Event){department("phong-kt")}},
	{"request_supplement", []func(*workflow.Event){hashedAttach(workflow.AttachmentSupplementRequest)}},
	{"supplement", []func(*workflow.Event){hashedAttach(workflow.AttachmentInputDigitized)}},
	{"transfer", []func(*workflow.Event){department("phong-tn")}},
	{"transfer", []func(*workflow.Event){department("lanh-dao")}},
	{"resolve", []func(*workflow.Event){hashedAttach(workflow.AttachmentResultElectronic)}},
	{"return", nil},
}

// hashedAttach attaches a file of the kind with a name and a SHA-256.
func hashedAttach(kind string) func(*workflow.Event) {
	return func(e *workflow.Event) {
		sum := sha256.Sum256([]byte(e.ID + kind))
		e.Attachments = append(e.Attachments, workflow.Attachment{Kind: kind, Name: kind + ".pdf", SHA256: hex.EncodeToString(sum[:])})
	}
}

// realisticStream applies dossiers × len(realisticSteps) events to db,
// with active dossiers in flight, in batches of benchBatch, marking the
// outbox published after each batch as the relay would. Event ids are
// UUIDs, as senders make them. It returns the transitions and batches
// applied and the pages the batches' commits wrote.
func realisticStream(tb testing.TB, db *DB, dossiers, active int) (transitions, batches int, pagesWritten int64) {
	ctx := context.Background()
	var seq uint64
	batch := make([]workflow.Envelope, 0, benchBatch)
	flush := func() {
		st := db.bolt.Stats()
		before := st.TxStats.GetWrite()
		res, err := db.Apply(ctx, batch)
		if err != nil {
			tb.Fatal(err)
		}
		st = db.bolt.Stats()
		pagesWritten += st.TxStats.GetWrite() - before
		batches++
		if res.Rejected != 0 {
			tb.Fatalf("Apply rejected %d events: %+v", res.Rejected, res.Outcomes)
		}
		transitions += res.Accepted
		if err := db.MarkPublished(ctx, res.LastSeq); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	// Slot s of the window runs dossiers s, s+active, ... one after the
	// other; each round advances every slot by a step.
	for round := 0; round*active < dossiers*len(realisticSteps); round++ {
		for slot := range active {
			n := round/len(realisticSteps)*active + slot
			if n >= dossiers {
				continue
			}
			step := realisticSteps[round%len(realisticSteps)]
			code := fmt.Sprintf("000.00.12.H57-%06d-%04d", n/10000, n%10000)
			sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", code, round))
			id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
			e := event(id, step.action, code, 0, step.opts...)
			seq++
			e.Time = t0.Add(time.Duration(seq) * time.Second)
			batch = append(batch, workflow.Envelope{Seq: seq, Subject: "hoso.events.tayninh." + workflow.DossierToken(code), Published: e.Time, Event: e})
			if len(batch) == benchBatch {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return transitions, batches, pagesWritten
}

// BenchmarkStoreSize applies 20,000 dossiers of ten transitions each,
// 2,000 in flight, and reports the size of the store file per transition
// (B/transition) and the bytes of each bucket's pages per transition.
func BenchmarkStoreSize(b *testing.B) {
	const dossiers, active = 20000, 2000
	var (
		used, size, free     int64
		transitions, batches int
		pages                int64
		sizes                []bucketSize
	)
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "hoso.db")
		db, err := Open(path, Options{Catalog: shippedCatalog(b), NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		transitions, batches, pages = realisticStream(b, db, dossiers, active)
		if sizes, err = bucketSizes(db); err != nil {
			b.Fatal(err)
		}
		err = db.view(context.Background(), func(bk *buckets) error { used = bk.tx.Size(); return nil })
		if err != nil {
			b.Fatal(err)
		}
		free = int64(db.bolt.Stats().FreePageN * db.bolt.Info().PageSize)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = fi.Size()
	}
	if transitions != dossiers*len(realisticSteps) {
		b.Fatalf("%d transitions applied, want %d", transitions, dossiers*len(realisticSteps))
	}
	// The file grows in steps of up to 16 MiB that a larger store
	// amortizes: B/transition counts the pages up to the highest in use,
	// file-B/transition the file's size.
	b.ReportMetric(float64(used)/float64(transitions), "B/transition")
	b.ReportMetric(float64(size)/float64(transitions), "file-B/transition")
	b.ReportMetric(float64(free)/float64(transitions), "free-B/transition")
	b.ReportMetric(float64(pages)/float64(batches), "pages/batch")
	for _, s := range sizes {
		b.Logf("%-22s %7.1f B/transition in pages, %5.1f%% used", s.name, float64(s.alloc)/float64(transitions), 100*float64(s.inuse)/float64(max(s.alloc, 1)))
	}
}

// bucketSize is the room a bucket's pages take and the bytes they use.
type bucketSize struct {
	name         string
	alloc, inuse int
}

func bucketSizes(db *DB) (sizes []bucketSize, err error) {
	err = db.view(context.Background(), func(b *buckets) error {
		for _, name := range allBuckets {
			s := b.tx.Bucket([]byte(name)).Stats()
			sizes = append(sizes, bucketSize{name, s.BranchAlloc + s.LeafAlloc, s.BranchInuse + s.LeafInuse})
		}
		return nil
	})
	return sizes, err
}

// BenchmarkVerify verifies a store of 100,000 dossiers of ten entries
// each: the hash chains alone, as verification did before it compared
// records with their histories (chains); every dossier against its
// history (all); the indexes, counters and rows in one transaction
// (store). Each reports entries/s or dossiers/s, and the CPU time it took
// (cpu-ns/op), steadier than the wall time on a shared machine.
func BenchmarkVerify(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "hoso.db"), Options{Catalog: shippedCatalog(b), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const dossiers = 100_000
	transitions, _, _ := realisticStream(b, db, dossiers, 10_000)
	ctx := context.Background()
	b.Run("chains", func(b *testing.B) {
		entries := 0
		cpu := cpuTime(b)
		for b.Loop() {
			n, err := verifyChains(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			entries += n
		}
		cpu.report(b)
		if entries%transitions != 0 {
			b.Fatalf("verified %d entries, not a multiple of the %d stored", entries, transitions)
		}
		b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("all", func(b *testing.B) {
		entries := 0
		b.ReportAllocs()
		cpu := cpuTime(b)
		for b.Loop() {
			_, err := db.VerifyAll(ctx, func(r workflow.ChainReport) error {
				if !r.OK {
					return fmt.Errorf("dossier %s: %s %+v", r.Dossier, r.Problem, r.Findings)
				}
				entries += r.Entries
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
		if entries%transitions != 0 {
			b.Fatalf("verified %d entries, not a multiple of the %d stored", entries, transitions)
		}
		b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime(b)
		for b.Loop() {
			findings, err := db.VerifyStore(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(findings) > 0 {
				b.Fatalf("VerifyStore found %+v", findings[0])
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(dossiers)*float64(b.N)/b.Elapsed().Seconds(), "dossiers/s")
	})
}

// verifyChains verifies the hash chain of every dossier and nothing
// else, a page of verifyChunk dossiers at a time spread over GOMAXPROCS
// goroutines as verifyAfter does, and returns the entries it checked.
func verifyChains(ctx context.Context, db *DB) (int, error) {
	var codes []string
	err := db.view(ctx, func(b *buckets) error {
		return b.dossiers.ForEach(func(k, _ []byte) error { codes = append(codes, string(k)); return nil })
	})
	if err != nil {
		return 0, err
	}
	entries := 0
	for len(codes) > 0 {
		page := codes[:min(verifyChunk, len(codes))]
		codes = codes[len(page):]
		workers := runtime.GOMAXPROCS(0)
		counts := make([]int, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := w*len(page)/workers, (w+1)*len(page)/workers
			wg.Go(func() {
				errs[w] = db.view(ctx, func(b *buckets) error {
					var (
						d   workflow.Dossier
						buf []workflow.HistoryEntry
					)
					for _, code := range page[lo:hi] {
						if err := decodeDossier(b.dossiers.Get([]byte(code)), &d); err != nil {
							return err
						}
						var err error
						if buf, err = b.historyInto(buf, code); err != nil {
							return err
						}
						if r := workflow.VerifyChain(&d, buf); !r.OK {
							return fmt.Errorf("chain of %s: %s", code, r.Problem)
						}
						counts[w] += len(buf)
					}
					return nil
				})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return entries, err
		}
		for _, n := range counts {
			entries += n
		}
	}
	return entries, nil
}

// cpuClock is the CPU time the process had used when a benchmark started.
type cpuClock struct{ start time.Duration }

func cpuTime(b *testing.B) cpuClock { return cpuClock{processCPU(b)} }

// report reports the CPU time per operation since the start.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU(b)-c.start)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the user and system CPU time of the process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
