package simulate_test

import (
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// shipped returns the shipped definitions with the shipped calendar.
var shipped = sync.OnceValues(func() (*workflow.Catalog, error) {
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		return nil, err
	}
	cal, err := workflow.LoadCalendar(configs.FS, configs.CalendarDir, workflow.CalendarConfig{})
	if err != nil {
		return nil, err
	}
	return cat.WithCalendar(cal), nil
})

func catalog(t testing.TB) *workflow.Catalog {
	t.Helper()
	cat, err := shipped()
	if err != nil {
		t.Fatalf("load the shipped definitions: %v", err)
	}
	return cat
}

func generate(t testing.TB, cfg simulate.Config) ([]simulate.Item, *simulate.Truth) {
	t.Helper()
	items, truth, err := simulate.Generate(cfg, catalog(t))
	if err != nil {
		t.Fatalf("Generate(%+v) = %v", cfg, err)
	}
	return items, truth
}

func config(seed int64, dossiers int) simulate.Config {
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers = seed, dossiers
	return cfg
}

func TestGenerateDeterministic(t *testing.T) {
	a, ta := generate(t, config(42, 1500))
	b, tb := generate(t, config(42, 1500))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two Generate calls with seed 42 differ")
	}
	if diff := cmp.Diff(ta, tb); diff != "" {
		t.Fatalf("truths of seed 42 differ (-first +second):\n%s", diff)
	}
	c, _ := generate(t, config(43, 1500))
	if reflect.DeepEqual(a, c) {
		t.Fatalf("seeds 42 and 43 give the same items")
	}
	if n := sharedIDs(a, c); n > 0 {
		t.Errorf("seeds 42 and 43 share %d event ids", n)
	}
	// Another size with the same seed: published to the same hoso, no
	// event may be taken for a repeat.
	d, _ := generate(t, config(42, 1000))
	if n := sharedIDs(a, d); n > 0 {
		t.Errorf("seed 42 with 1,500 and 1,000 dossiers share %d event ids", n)
	}
}

func sharedIDs(a, b []simulate.Item) int {
	ids := map[string]bool{}
	for _, it := range a {
		if it.Event != nil {
			ids[it.Event.ID] = true
		}
	}
	n := 0
	for _, it := range b {
		if it.Event != nil && it.MsgID != "" && ids[it.Event.ID] {
			n++
		}
	}
	return n
}

// TestGenerateTimes checks the times: sorted, strictly increasing per
// dossier, inside the period and inside working hours of working days.
func TestGenerateTimes(t *testing.T) {
	cfg := config(3, 3000)
	items, _ := generate(t, cfg)
	cal := catalog(t).Calendar()
	h := cal.Config().Hours
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	last := map[string]time.Time{}
	for i, it := range items {
		if i > 0 && it.Time.Before(items[i-1].Time) {
			t.Fatalf("item %d at %s is before item %d at %s", i, it.Time, i-1, items[i-1].Time)
		}
		if it.Time.Before(cfg.Start) || !it.Time.Before(end) {
			t.Fatalf("item %d at %s is outside the period %s–%s", i, it.Time, cfg.Start, end)
		}
		if !cal.IsWorkingDay(it.Time) {
			t.Fatalf("item %d at %s is on a day off", i, it.Time)
		}
		lt := it.Time.In(workflow.Zone)
		off := lt.Sub(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, workflow.Zone))
		if !(off >= h.MorningStart && off < h.MorningEnd || off >= h.AfternoonStart && off < h.AfternoonEnd) {
			t.Fatalf("item %d at %s is outside working hours", i, lt)
		}
		if prev, ok := last[it.Subject]; ok && !it.Time.After(prev) {
			t.Fatalf("item %d on %s at %s does not follow the dossier's previous item at %s", i, it.Subject, it.Time, prev)
		}
		last[it.Subject] = it.Time
		switch {
		case it.Event == nil && len(it.Raw) == 0:
			t.Fatalf("item %d has neither an event nor a payload", i)
		case it.Event != nil && it.Raw != nil:
			t.Fatalf("item %d has both an event and a payload", i)
		case it.Event != nil && it.Subject != "hoso.events."+cfg.Source+"."+workflow.DossierToken(it.Event.Dossier):
			t.Fatalf("item %d: subject %s for dossier %s", i, it.Subject, it.Event.Dossier)
		case it.Event != nil && it.MsgID != "" && it.MsgID != it.Event.ID:
			t.Fatalf("item %d: Nats-Msg-Id %s for event %s", i, it.MsgID, it.Event.ID)
		case it.Event != nil && it.MsgID == "" && !it.Time.After(it.Event.Time):
			t.Fatalf("item %d: a repeat sent at %s, not after its event at %s", i, it.Time, it.Event.Time)
		case it.Event != nil && it.MsgID != "" && !it.Time.Equal(it.Event.Time):
			t.Fatalf("item %d: sent at %s, event time %s", i, it.Time, it.Event.Time)
		}
	}
}

// walk applies the items in order through cat.Decide, as the engine does
// (a permanent event-id dedupe before the decision, unreadable messages
// rejected as malformed), and counts the result the way Truth is defined.
func walk(t *testing.T, cat *workflow.Catalog, items []simulate.Item) *simulate.Truth {
	t.Helper()
	got := &simulate.Truth{
		Events:      len(items),
		ByStatus:    map[workflow.Status]int{},
		ByAgency:    map[string]*simulate.Counts{},
		ByProcedure: map[string]*simulate.Counts{},
	}
	counts := func(m map[string]*simulate.Counts, k string) *simulate.Counts {
		if m[k] == nil {
			m[k] = &simulate.Counts{}
		}
		return m[k]
	}
	reject := func(c *simulate.Counts, r workflow.Reason) {
		if c.Rejected == nil {
			c.Rejected = map[workflow.Reason]int{}
		}
		c.Rejected[r]++
	}
	dossiers := map[string]*workflow.Dossier{}
	timing := map[string]workflow.Timing{} // of each dossier's first resolution
	seen := map[string]bool{}
	for i, it := range items {
		seq := uint64(i + 1)
		env := workflow.Envelope{Seq: seq, Subject: it.Subject, Published: it.Time}
		var d *workflow.Dossier
		if it.Event == nil {
			env.Rejection = workflow.Reject(seq, it.Subject, it.Time, workflow.ReasonMalformed, "unreadable")
		} else {
			ev := *it.Event
			env.Event = &ev
			d = dossiers[ev.Dossier]
			if seen[ev.ID] {
				env.RejectDuplicate()
			}
			seen[ev.ID] = true
		}
		dec := cat.Decide(d, &env)
		if dec.Dossier != nil {
			dossiers[dec.Dossier.Code] = dec.Dossier
		}
		if e := dec.Entry; e != nil {
			got.Accepted++
			if e.ToStatus == workflow.StatusResolved && e.FromStatus != workflow.StatusResolved {
				if _, ok := timing[e.Dossier]; !ok {
					timing[e.Dossier] = e.Timing
				}
			}
		}
		if dec.Outcome.Kind == workflow.OutcomeCorrection {
			got.Corrections++
		}
		if dec.Mismatch != nil {
			got.Mismatches++
		}
		if r := dec.Rejection; r != nil {
			reject(&got.Total, r.Reason)
			if env.Event != nil {
				reject(counts(got.ByAgency, env.Event.Agency), r.Reason)
				reject(counts(got.ByProcedure, env.Event.Procedure), r.Reason)
			}
		}
	}
	for code, d := range dossiers {
		got.Dossiers++
		got.ByStatus[d.Status]++
		def := cat.Lookup(d.Definition, d.Version)
		senderDue := def.Procedure(d.Procedure).SLA.IsZero()
		for _, c := range []*simulate.Counts{&got.Total, counts(got.ByAgency, d.Agency), counts(got.ByProcedure, d.Procedure)} {
			switch d.Status {
			case workflow.StatusReturned:
				c.Returned++
			case workflow.StatusWithdrawn:
				c.Withdrawn++
			case workflow.StatusRefused:
				c.Refused++
			case workflow.StatusStopped:
				c.Stopped++
			case workflow.StatusSubmitted, workflow.StatusReceived, workflow.StatusProcessing:
				c.InProgress++
			case workflow.StatusSupplement, workflow.StatusPayment:
				c.Paused++
			}
			if !d.ReceivedAt.IsZero() {
				c.Received++
				if d.Online {
					c.ReceivedOnline++
				}
			}
			if !d.ResolvedAt.IsZero() {
				c.Resolved++
			}
			if d.HasAttachment(workflow.AttachmentInputDigitized) {
				c.WithDigitizedInput++
			}
			if d.HasAttachment(workflow.AttachmentResultElectronic) {
				c.WithResultFile++
			}
			if senderDue {
				switch timing[code] {
				case workflow.TimingEarly:
					c.ResolvedEarly++
				case workflow.TimingOnTime:
					c.ResolvedOnTime++
				case workflow.TimingLate:
					c.ResolvedLate++
				}
			}
		}
	}
	return got
}

// TestGenerateTruth walks the stream through the decision of the real
// definitions and checks it ends exactly where Truth says.
func TestGenerateTruth(t *testing.T) {
	for _, cfg := range []simulate.Config{
		config(1, 4000),
		func() simulate.Config { c := config(2, 2000); c.Faults = 0.5; c.Agencies = 2; return c }(),
		// Across the change of the standard flow on 1 July 2025.
		func() simulate.Config {
			c := config(5, 2000)
			c.Start = time.Date(2025, 5, 15, 9, 30, 0, 0, workflow.Zone)
			c.Days = 120
			c.Agencies = simulate.MaxAgencies
			return c
		}(),
	} {
		cat := catalog(t)
		items, truth := generate(t, cfg)
		got := walk(t, cat, items)
		if diff := cmp.Diff(truth, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("seed %d: walking the stream through Decide ends elsewhere than Truth (-truth +walk):\n%s", cfg.Seed, diff)
		}
	}
}

// TestGenerateShares checks the realism knobs land near their targets
// and logs the shares measured.
func TestGenerateShares(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 3000
	}
	cfg := config(11, n)
	items, truth := generate(t, cfg)
	tot := truth.Total
	share := func(a, b int) float64 { return float64(a) / float64(b) }
	var land, feedback, online, submitted int
	firsts := map[string]bool{}
	for _, it := range items {
		ev := it.Event
		if ev == nil || firsts[ev.Dossier] {
			continue
		}
		firsts[ev.Dossier] = true
		switch {
		case strings.HasPrefix(ev.Procedure, "DD."):
			land++
		case ev.Procedure == "PAKN":
			feedback++
		}
		if ev.Action == "submit" {
			online++
		}
		submitted++
	}
	resolvedDue := tot.ResolvedEarly + tot.ResolvedOnTime + tot.ResolvedLate
	rejected := 0
	for _, v := range tot.Rejected {
		rejected += v
	}
	for _, c := range []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"land", share(land, submitted), 0.12, 0.18},
		{"feedback", share(feedback, submitted), 0.03, 0.07},
		{"online", share(online, submitted-feedback), 0.55, 0.65},
		{"events per dossier", share(truth.Events, truth.Dossiers), 5, 9},
		{"resolved", share(tot.Resolved, truth.Dossiers), 0.70, 0.90},
		{"returned", share(tot.Returned, truth.Dossiers), 0.65, 0.88},
		{"in progress or paused", share(tot.InProgress+tot.Paused, truth.Dossiers), 0.06, 0.16},
		{"withdrawn", share(tot.Withdrawn, truth.Dossiers), 0.02, 0.04},
		{"refused", share(tot.Refused, truth.Dossiers), 0.01, 0.04},
		{"stopped", share(tot.Stopped, truth.Dossiers), 0.003, 0.02},
		{"early or on time", share(tot.ResolvedEarly+tot.ResolvedOnTime, resolvedDue), 0.90, 0.97},
		{"digitized input", share(tot.WithDigitizedInput, tot.Received), 0.70, 0.95},
		{"rejected events", share(rejected, truth.Events), 0.002, 0.02},
		{"corrections", share(truth.Corrections, truth.Dossiers), 0.005, 0.04},
	} {
		t.Logf("%-22s %8.3f", c.name, c.got)
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s: %.3f, want %.2f–%.2f", c.name, c.got, c.lo, c.hi)
		}
	}
	t.Logf("%d dossiers, %d events, %d accepted, %d corrections, %d mismatches; by status %v; rejected %v",
		truth.Dossiers, truth.Events, truth.Accepted, truth.Corrections, truth.Mismatches, truth.ByStatus, tot.Rejected)
	for _, r := range []workflow.Reason{workflow.ReasonInvalidTransition, workflow.ReasonMissingAttachment,
		workflow.ReasonDuplicate, workflow.ReasonMalformed} {
		if tot.Rejected[r] == 0 {
			t.Errorf("no %s rejection in %d dossiers", r, n)
		}
	}
}

func TestGenerateNoFaults(t *testing.T) {
	cfg := config(9, 2000)
	cfg.Faults = 0
	items, truth := generate(t, cfg)
	if len(truth.Total.Rejected) != 0 || truth.Corrections != 0 || truth.Mismatches != 0 {
		t.Errorf("without faults: rejected %v, %d corrections, %d mismatches; want none", truth.Total.Rejected, truth.Corrections, truth.Mismatches)
	}
	if truth.Accepted != len(items) {
		t.Errorf("without faults: %d of %d events accepted", truth.Accepted, len(items))
	}
}

func TestConfigValidate(t *testing.T) {
	if err := simulate.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*simulate.Config)
		want string
	}{
		{"no dossiers", func(c *simulate.Config) { c.Dossiers = 0 }, "dossiers"},
		{"no start", func(c *simulate.Config) { c.Start = time.Time{} }, "start"},
		{"no days", func(c *simulate.Config) { c.Days = 0 }, "days"},
		{"one agency", func(c *simulate.Config) { c.Agencies = 1 }, "agencies"},
		{"too many agencies", func(c *simulate.Config) { c.Agencies = simulate.MaxAgencies + 1 }, "agencies"},
		{"bad source", func(c *simulate.Config) { c.Source = "Tây Ninh" }, "source"},
		{"faults over 1", func(c *simulate.Config) { c.Faults = 1.5 }, "faults"},
		{"faults NaN", func(c *simulate.Config) { c.Faults = nan() }, "faults"},
	} {
		cfg := simulate.DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error about %s", tc.name, err, tc.want)
		}
		if _, _, gerr := simulate.Generate(cfg, catalog(t)); gerr == nil {
			t.Errorf("%s: Generate accepted the config", tc.name)
		}
	}
}

func nan() float64 { zero := 0.0; return zero / zero }

// edited returns the shipped definitions with one file's text edited.
func edited(t *testing.T, file, old, new string) *workflow.Catalog {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(configs.FS, configs.DefinitionsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(configs.FS, path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "/"+file) {
			s := string(b)
			if !strings.Contains(s, old) {
				t.Fatalf("%s has no %q", path, old)
			}
			b = []byte(strings.Replace(s, old, new, 1))
		}
		m[path] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := workflow.Load(m, configs.DefinitionsDir)
	if err != nil {
		t.Fatalf("load edited definitions: %v", err)
	}
	return cat
}

// TestGenerateDefinitionDrift checks Generate fails loudly when a shipped
// definition no longer has what the generator needs.
func TestGenerateDefinitionDrift(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"no send_to_tax", "land.yaml", "name: send_to_tax", "name: send_to_tax_office", `no action ["send_to_tax"]`},
		{"a new guard", "standard.yaml", "  - name: assign\n    from: [received]\n    to: processing\n    guards:\n      - fields: [department]",
			"  - name: assign\n    from: [received]\n    to: processing\n    guards:\n      - fields: [department, note]", "rejects the generator's assign"},
	} {
		cat := edited(t, tc.file, tc.old, tc.new)
		_, _, err := simulate.Generate(config(1, 500), cat)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Generate = %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	// A procedure no definition covers at the time.
	cfg := config(1, 100)
	cfg.Start = time.Date(2024, 1, 2, 8, 0, 0, 0, workflow.Zone)
	_, _, err := simulate.Generate(cfg, catalog(t))
	if err == nil || !strings.Contains(err.Error(), `no action ["send_to_tax"]`) {
		t.Errorf("before the land definition's effective date: Generate = %v, want an error naming send_to_tax", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cat := catalog(b)
	cfg := config(1, 100_000)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		items, _, err := simulate.Generate(cfg, cat)
		if err != nil {
			b.Fatal(err)
		}
		n += len(items)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(n)/float64(b.N), "items/op")
}
