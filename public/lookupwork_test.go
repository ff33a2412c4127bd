package public_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/public"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// storeCode is the code of the i-th dossier of buildStore.
func storeCode(i int) string { return fmt.Sprintf("000.00.%02d.H57-%07d", i%40, i) }

// storeSecret is its secret.
func storeSecret(i int) string { return fmt.Sprintf("K%07d", i) }

// buildStore applies n dossiers to a new store in dir, each received
// (with the lookup digest of storeSecret under key, but every tenth
// without one), assigned and handed to a second department, in batches
// of 8,192 events without fsync: the cheapest way to a large store.
func buildStore(tb testing.TB, dir string, n int, key []byte) *store.DB {
	tb.Helper()
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, engine.StoreFile), store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	start := time.Date(2025, 9, 1, 8, 0, 0, 0, workflow.Zone)
	var (
		seq   uint64
		batch []workflow.Envelope
	)
	flush := func() {
		res, err := db.Apply(context.Background(), batch)
		if err != nil {
			tb.Fatal(err)
		}
		if res.Rejected != 0 {
			tb.Fatalf("Apply rejected %d events: %+v", res.Rejected, res.Outcomes[0])
		}
		if err := db.MarkPublished(context.Background(), res.LastSeq); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	const window = 4096 // dossiers in flight at once, so that a batch touches many
	for lo := 0; lo < n; lo += window {
		hi := min(n, lo+window)
		for step, action := range []string{"receive", "assign", "transfer"} {
			for i := lo; i < hi; i++ {
				code := storeCode(i)
				at := start.Add(time.Duration(i)*time.Minute + time.Duration(step)*time.Hour)
				e := &workflow.Event{ID: fmt.Sprintf("b-%d-%d", i, step), SourceURI: "/motcua/bench", Source: "bench", Action: action,
					Dossier: code, Time: at, Procedure: "1.004227", Agency: "000.00.12.H57", Actor: "canbo-" + strconv.Itoa(i%97)}
				switch step {
				case 0:
					e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}
					e.Due = at.AddDate(0, 0, 14)
					if i%10 != 9 {
						e.Lookup = workflow.LookupDigest(key, code, storeSecret(i))
					}
				case 1:
					e.Department = "phong-tiep-nhan"
				case 2:
					e.Department = "phong-chuyen-mon"
				}
				seq++
				batch = append(batch, workflow.Envelope{Seq: seq, Subject: "hoso.events.bench." + workflow.DossierToken(code), Published: at, Event: e})
				if len(batch) == 8192 {
					flush()
				}
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return db
}

// countingStore counts the reads a lookup makes of a real store.
type countingStore struct {
	*store.DB
	lookups, histories, stats atomic.Int64
}

func (c *countingStore) Lookup(ctx context.Context, code string) (workflow.Dossier, bool, error) {
	c.lookups.Add(1)
	return c.DB.Lookup(ctx, code)
}

func (c *countingStore) History(ctx context.Context, code string) ([]workflow.HistoryEntry, error) {
	c.histories.Add(1)
	return c.DB.History(ctx, code)
}

func (c *countingStore) Stats(ctx context.Context, q workflow.StatsQuery) (workflow.StatsResult, error) {
	c.stats.Add(1)
	return c.DB.Stats(ctx, q)
}

// wideLimits are limits no test or benchmark reaches.
var wideLimits = public.LookupLimits{PerAddress: public.Limit{Burst: 1_000_000, Every: time.Millisecond},
	PerCode: public.Limit{Burst: 1_000_000, Every: time.Millisecond}, MaxTracked: 10_000_000}

// lookupServer serves the lookup of db over a real loopback listener,
// counting its reads and its HMACs.
func lookupServer(tb testing.TB, db *store.DB, key []byte) (*countingStore, *atomic.Int64, *public.Server, *httptest.Server) {
	tb.Helper()
	cs := &countingStore{DB: db}
	srv, err := public.New(public.Config{Store: cs, LookupKey: key, Settings: public.Settings{Lookup: wideLimits}})
	if err != nil {
		tb.Fatal(err)
	}
	var digests atomic.Int64
	public.SetDigest(srv, func(key []byte, code, secret string) [32]byte {
		digests.Add(1)
		return workflow.LookupDigest(key, code, secret)
	})
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return cs, &digests, srv, hs
}

var benchKey = []byte("0123456789abcdef0123456789abcdef")

// TestLookupSameWork checks that a wrong secret, an unknown code and a
// dossier without a digest cost the same operations: one read of the
// store and one HMAC each, and no other read; a match reads the history
// besides.
func TestLookupSameWork(t *testing.T) {
	db := buildStore(t, t.TempDir(), 20, benchKey)
	cs, digests, _, hs := lookupServer(t, db, benchKey)
	for _, c := range []struct {
		name, code, secret string
		status             int
		histories          int64
	}{
		{"wrong secret", storeCode(3), storeSecret(4), 404, 0},
		{"unknown code", storeCode(99), storeSecret(3), 404, 0},
		{"no digest", storeCode(9), storeSecret(9), 404, 0},
		{"right secret", storeCode(3), storeSecret(3), 200, 1},
	} {
		l0, h0, d0 := cs.lookups.Load(), cs.histories.Load(), digests.Load()
		resp, body := postLookup(t, hs.URL, c.code, c.secret)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.status)
		}
		got := []int64{cs.lookups.Load() - l0, digests.Load() - d0, cs.histories.Load() - h0, cs.stats.Load()}
		if want := []int64{1, 1, c.histories, 0}; !slices.Equal(got, want) {
			t.Errorf("%s: store lookups, HMACs, history reads, stats reads = %v, want %v", c.name, got, want)
		}
	}
	// A refused request reads nothing and computes nothing.
	l0, d0 := cs.lookups.Load(), digests.Load()
	postLookup(t, hs.URL, storeCode(3), "é")
	if cs.lookups.Load() != l0 || digests.Load() != d0 {
		t.Errorf("a malformed secret read the store or computed an HMAC")
	}
}

// BenchmarkLookupPaths serves each path of a lookup side by side,
// through the handler (no network): the times of a wrong secret, an
// unknown code and a dossier without a digest should not differ by more
// than noise; a match costs its history read and its answer.
func BenchmarkLookupPaths(b *testing.B) {
	db := buildStore(b, b.TempDir(), 1000, benchKey)
	_, _, srv, _ := lookupServer(b, db, benchKey)
	for _, c := range []struct{ name, code, secret string }{
		{"wrong_secret", storeCode(503), storeSecret(504)},
		{"unknown_code", storeCode(5003), storeSecret(503)},
		{"no_digest", storeCode(509), storeSecret(509)},
		{"right_secret", storeCode(503), storeSecret(503)},
	} {
		body := `{"code":"` + c.code + `","secret":"` + c.secret + `"}`
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/api/public/v1/lookup", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != 200 && w.Code != 404 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkLookupLarge looks up random dossiers of a store of
// HOSO_BENCH_LOOKUP_DOSSIERS dossiers (default 100,000; the report's
// figures are of 1,000,000), over loopback HTTP, and reports the median
// and the 99th percentile of a lookup with the right secret and with a
// wrong one.
func BenchmarkLookupLarge(b *testing.B) {
	n := 100_000
	if v := os.Getenv("HOSO_BENCH_LOOKUP_DOSSIERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("HOSO_BENCH_LOOKUP_DOSSIERS=%q: want a number of dossiers, at least 1000", v)
		}
	}
	began := time.Now()
	db := buildStore(b, b.TempDir(), n, benchKey)
	b.Logf("built a store of %d dossiers (%d events) in %s", n, 3*n, time.Since(began).Round(time.Second))
	_, _, _, hs := lookupServer(b, db, benchKey)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var right, wrong []time.Duration
	i := 0
	for b.Loop() {
		k := int(uint32(i*2654435761) % uint32(n)) // spread over the store
		if k%10 == 9 {
			k-- // one with a digest
		}
		secret := storeSecret(k)
		if i%2 == 1 {
			secret = storeSecret(k + 1)
		}
		body := `{"code":"` + storeCode(k) + `","secret":"` + secret + `"}`
		t0 := time.Now()
		resp, err := c.Post(hs.URL+"/api/public/v1/lookup", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var a map[string]any
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil || (i%2 == 0) != (resp.StatusCode == 200) {
			b.Fatalf("lookup %d: %d %v", k, resp.StatusCode, err)
		}
		if i%2 == 0 {
			right = append(right, d)
		} else {
			wrong = append(wrong, d)
		}
		i++
	}
	pct := func(ds []time.Duration, p float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return float64(ds[int(p*float64(len(ds)-1))].Microseconds())
	}
	b.ReportMetric(pct(right, 0.5), "right-p50-µs")
	b.ReportMetric(pct(right, 0.99), "right-p99-µs")
	b.ReportMetric(pct(wrong, 0.5), "wrong-p50-µs")
	b.ReportMetric(pct(wrong, 0.99), "wrong-p99-µs")
}
