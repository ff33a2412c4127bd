package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// benchScale is the suite's measure of a large store: built from a
// synthetic stream of dossiers × steps transitions, then served by `hoso
// serve`, whose memory, lookups, statistics and chain verification are
// measured through the API.
type benchScale struct {
	Dossiers      int           `json:"dossiers"`
	Transitions   int           `json:"transitions"` // history entries written
	Build         time.Duration `json:"build_ns"`    // applying the stream (no fsync per batch)
	FileBytes     int64         `json:"file_bytes"`
	BytesPerEntry float64       `json:"bytes_per_transition"`
	// Resident memory of serve, started with none of the store file in the
	// page cache, after the lookups and statistics queries: in all, and its
	// anonymous part (heap, stacks), without the pages of the memory-mapped
	// store file, which are the kernel's page cache.
	RSS     int64 `json:"serve_rss_bytes"`
	RSSAnon int64 `json:"serve_rss_anon_bytes"`
	// After verifying every chain, which reads the whole file.
	RSSVerified     int64         `json:"serve_rss_after_verify_bytes"`
	RSSAnonVerified int64         `json:"serve_rss_anon_after_verify_bytes"`
	Lookups         int           `json:"lookups"`
	LookupP50       time.Duration `json:"lookup_p50_ns"`
	LookupP99       time.Duration `json:"lookup_p99_ns"`
	StatsQueries    int           `json:"stats_queries"`
	StatsP50        time.Duration `json:"stats_p50_ns"`
	StatsMax        time.Duration `json:"stats_max_ns"`
	Verified        int           `json:"verified_dossiers"`
	// Verifying every chain twice: first from the disk (the file out of
	// the page cache), then with the file in the page cache.
	VerifyTook     time.Duration `json:"verify_ns"`
	VerifyRate     float64       `json:"verify_entries_per_s"`
	VerifyWarmTook time.Duration `json:"verify_warm_ns"`
	VerifyWarmRate float64       `json:"verify_warm_entries_per_s"`
}

// scaleSteps is the flow of every synthetic dossier: ten transitions, with
// four handoffs between departments and a supplement round.
var scaleSteps = []struct {
	action string
	attach string
	dept   string
}{
	{"receive", workflow.AttachmentInputDigitized, ""},
	{"assign", "", "phong-tiep-nhan"},
	{"transfer", "", "phong-chuyen-mon"},
	{"request_supplement", "supplement_request", ""},
	{"supplement", "", ""},
	{"transfer", "", "phong-tham-dinh"},
	{"transfer", "", "lanh-dao"},
	{"transfer", "", "phong-chuyen-mon"},
	{"resolve", workflow.AttachmentResultElectronic, ""},
	{"return", "", ""},
}

// scaleStream generates the synthetic stream: window dossiers in flight at
// a time, so that a batch touches many dossiers as a province's stream does;
// 40 agencies, 30 procedures, receipts spread over 2026.
type scaleStream struct {
	dossiers, window int
	k                int        // next event
	rng              *rand.Rand // of the event ids; nil: seeded by next
}

// total is the number of events of the stream.
func (s *scaleStream) total() int { return s.dossiers * len(scaleSteps) }

// end is one past the last position of the stream: the last group of
// window dossiers may be partial.
func (s *scaleStream) end() int {
	w := min(s.window, s.dossiers)
	return (s.dossiers + w - 1) / w * w * len(scaleSteps)
}

func (s *scaleStream) code(i int) string {
	return fmt.Sprintf("000.00.%02d.H57-%07d", i%40, i)
}

// next returns up to n envelopes, without their sequence; none at the
// end.
func (s *scaleStream) next(n int) []workflow.Envelope {
	year := time.Date(2026, 1, 5, 8, 0, 0, 0, workflow.Zone)
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(6, 2026))
	}
	var envs []workflow.Envelope
	for ; len(envs) < n && s.k < s.end(); s.k++ {
		w := min(s.window, s.dossiers)
		slot, round := s.k%w, s.k/w
		group, step := round/len(scaleSteps), round%len(scaleSteps)
		i := group*w + slot
		if i >= s.dossiers {
			continue // the last group is partial
		}
		received := year.Add(time.Duration(i) * (300 * 24 * time.Hour) / time.Duration(s.dossiers))
		st := scaleSteps[step]
		code := s.code(i)
		e := &workflow.Event{
			ID: uuid(s.rng), SourceURI: "/motcua/bench", Source: "bench",
			Action: st.action, Dossier: code, Time: received.Add(time.Duration(step) * time.Duration(4+i%11) * 3 * time.Hour),
			Procedure: fmt.Sprintf("1.0042%02d", i%30), Agency: fmt.Sprintf("000.00.%02d.H57", i%40), Actor: "canbo-" + strconv.Itoa(i%97),
			Department: st.dept,
		}
		if st.attach != "" {
			e.Attachments = []workflow.Attachment{{Kind: st.attach, Name: st.attach + ".pdf"}}
		}
		if step == 0 {
			e.Due = received.AddDate(0, 0, 14)
		}
		envs = append(envs, workflow.Envelope{Subject: "hoso.events.bench." + workflow.DossierToken(code), Published: e.Time, Event: e})
	}
	return envs
}

// scale builds the store and measures it served.
func (c *benchCommand) scale(ctx context.Context, dir string, cat *workflow.Catalog, dossiers int) (benchScale, error) {
	res := benchScale{Dossiers: dossiers}
	h, err := startBenchNATS(ctx, filepath.Join(dir, "nats"), false)
	if err != nil {
		return res, err
	}
	defer h.close()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return res, err
	}
	path := filepath.Join(dataDir, engine.StoreFile)
	db, err := store.Open(path, store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		return res, err
	}
	s := &scaleStream{dossiers: dossiers, window: 5000}
	began := time.Now()
	var seq uint64
	for {
		envs := s.next(8192)
		if len(envs) == 0 {
			break
		}
		for i := range envs {
			seq++
			envs[i].Seq = seq
		}
		br, err := db.Apply(ctx, envs)
		if err != nil {
			db.Close()
			return res, err
		}
		if br.Rejected > 0 {
			db.Close()
			for _, o := range br.Outcomes {
				if o.Reason != "" {
					return res, fmt.Errorf("the synthetic stream was rejected: %s %s: %s", o.Dossier, o.Action, o.Reason)
				}
			}
		}
		res.Transitions += br.Accepted
		// As the relay would once the outcomes are published: the outbox
		// stays short and its pages are reused.
		if err := db.MarkPublished(ctx, seq); err != nil {
			db.Close()
			return res, err
		}
		if seq%1_000_000 < uint64(len(envs)) {
			c.logf("scale: %s of %s transitions applied", commas(int(seq)), commas(s.total()))
		}
	}
	res.Build = time.Since(began)
	if err := db.Close(); err != nil {
		return res, err
	}
	if err := store.SyncFile(path); err != nil {
		return res, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return res, err
	}
	res.FileBytes = fi.Size()
	// serve starts as after a reboot, with none of the file in the page
	// cache: otherwise the kernel maps cached pages around each one serve
	// reads (fault-around), and its resident memory counts pages of the
	// file it never asked for.
	if err := dropCache(path); err != nil {
		return res, err
	}
	res.BytesPerEntry = float64(res.FileBytes) / float64(max(res.Transitions, 1))
	c.logf("scale: %s transitions of %s dossiers in %s, %d MB", commas(res.Transitions), commas(dossiers), res.Build.Round(time.Second), res.FileBytes>>20)

	// serve on the store, with a NATS server whose event stream is
	// empty: the store is past it.
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	p, err := start(ctx, c.hoso, serveArgs(dataDir, h.url(), addr, events.DefaultMaxBatch)...)
	if err != nil {
		return res, err
	}
	defer p.kill()
	cl := &api.Client{BaseURL: "http://" + addr}
	if err := p.waitFor(ctx, time.Minute, "HTTP API", func() bool {
		var health json.RawMessage
		return cl.Get(ctx, "/healthz", &health) == nil
	}); err != nil {
		return res, err
	}

	pick := rand.New(rand.NewPCG(1, 2))
	res.Lookups = 2000
	lookups := make([]time.Duration, res.Lookups)
	for i := range lookups {
		code := s.code(pick.IntN(dossiers))
		t := time.Now()
		var d json.RawMessage
		if err := cl.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(code), &d); err != nil {
			return res, fmt.Errorf("lookup %s: %w", code, err)
		}
		lookups[i] = time.Since(t)
	}
	slices.Sort(lookups)
	res.LookupP50, res.LookupP99 = lookups[len(lookups)/2], lookups[len(lookups)*99/100]

	res.StatsQueries = 20
	stats := make([]time.Duration, res.StatsQueries)
	for i := range stats {
		t := time.Now()
		var doc api.Stats
		if err := cl.Get(ctx, "/api/v1/stats?from=2026&to=2026", &doc); err != nil {
			return res, fmt.Errorf("stats: %w", err)
		}
		stats[i] = time.Since(t)
	}
	slices.Sort(stats)
	res.StatsP50, res.StatsMax = stats[len(stats)/2], stats[len(stats)-1]

	mem, err := procStatus(p.cmd.Process.Pid, "VmRSS", "RssAnon")
	if err != nil {
		return res, err
	}
	res.RSS, res.RSSAnon = mem[0], mem[1]

	if res.Verified, res.VerifyTook, err = verifyAll(ctx, cl); err != nil {
		return res, err
	}
	if res.Verified != dossiers {
		return res, fmt.Errorf("audit verify checked %d dossiers of %d", res.Verified, dossiers)
	}
	res.VerifyRate = perSecond(res.Transitions, res.VerifyTook)

	if mem, err = procStatus(p.cmd.Process.Pid, "VmRSS", "RssAnon"); err != nil {
		return res, err
	}
	res.RSSVerified, res.RSSAnonVerified = mem[0], mem[1]
	var again int
	if again, res.VerifyWarmTook, err = verifyAll(ctx, cl); err != nil {
		return res, err
	}
	if again != dossiers {
		return res, fmt.Errorf("audit verify checked %d dossiers of %d the second time", again, dossiers)
	}
	res.VerifyWarmRate = perSecond(res.Transitions, res.VerifyWarmTook)
	if _, err := p.stop(); err != nil {
		return res, err
	}
	return res, nil
}

// verifyAll verifies every chain through the API, a page of 1,000
// dossiers at a time, and returns how many dossiers it checked and how long
// it took. A broken chain is an error.
func verifyAll(ctx context.Context, cl *api.Client) (int, time.Duration, error) {
	// The first page checks the whole store once, as hoso audit verify
	// allows it to.
	c := *cl
	c.Timeout = 30 * time.Minute
	cl = &c
	t := time.Now()
	checked := 0
	cursor := ""
	for {
		var page api.AuditPage
		if err := cl.Get(ctx, "/api/v1/audit/verify?limit=1000&cursor="+url.QueryEscape(cursor), &page); err != nil {
			return checked, 0, fmt.Errorf("audit verify: %w", err)
		}
		if len(page.Items) > 0 {
			return checked, 0, fmt.Errorf("audit verify: %d broken chains", len(page.Items))
		}
		checked += page.Checked
		if page.NextCursor == "" {
			return checked, time.Since(t), nil
		}
		cursor = page.NextCursor
	}
}

// dropCache asks the kernel to drop the file's pages from the page cache
// (they are clean: the file is synced).
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop %s from the page cache: %w", path, err)
	}
	return nil
}

// uuid returns a random (version 4) UUID in its text form, as most
// one-stop-shop software makes its event ids.
func uuid(rng *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
