package main

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// rate returns the measure named name, or nil.
func (r *benchResults) rate(name string) *benchRate {
	for i := range r.Rates {
		if r.Rates[i].Name == name {
			return &r.Rates[i]
		}
	}
	return nil
}

// bestPostgres returns the PostgreSQL peer at its best client count, or nil.
func (r *benchResults) bestPostgres() *benchRate {
	var best *benchRate
	for i := range r.Rates {
		if p := &r.Rates[i]; strings.HasPrefix(p.Name, "postgres-") && (best == nil || p.Median > best.Median) {
			best = p
		}
	}
	return best
}

// latencyAt returns the latency measure at load of the baseline binary or
// of the current one, or nil.
func (r *benchResults) latencyAt(load int, baseline bool) *benchLatency {
	for i := range r.Latency {
		if l := &r.Latency[i]; l.Load == load && l.Baseline == baseline {
			return l
		}
	}
	return nil
}

// messagingShare says how close the drain comes to ceiling-outcomes, a
// drain with all of the engine's messaging and none of its work; "" when
// either was not measured.
func (r *benchResults) messagingShare() string {
	hoso, co := r.rate("hoso"), r.rate("ceiling-outcomes")
	if hoso == nil || co == nil || co.Median <= 0 {
		return ""
	}
	base := ""
	if b := r.rate("hoso" + baselineSuffix); b != nil {
		base = fmt.Sprintf(" (the baseline at %.2f)", b.Median/co.Median)
	}
	return fmt.Sprintf("hoso drains at %.2f of ceiling-outcomes (%s events/s)%s: the NATS server's own work of fetching, acking and storing one outcome per event bounds any drain on this machine.",
		hoso.Median/co.Median, commas(int(co.Median)), base)
}

// benchTarget is one of the targets of the performance work as this run
// measured it.
type benchTarget struct {
	What     string
	Got      string
	Baseline string // the baseline binary's figure; "" when it was not measured
	Want     string // "" for a figure reported without a threshold
	Met      bool
}

// targets returns the targets as measured by the current binary, each
// with the baseline binary's figure when there is one.
func (r *benchResults) targets() []benchTarget {
	t := r.targetsOf(false)
	if r.Baseline == nil {
		return t
	}
	base := r.targetsOf(true)
	for i := range t {
		for _, b := range base {
			if b.What == t[i].What {
				t[i].Baseline = b.Got
			}
		}
	}
	return t
}

// targetsOf returns the targets as the measures of the baseline binary,
// or of the current one, met them; the ceilings and the PostgreSQL peer
// are common to both.
func (r *benchResults) targetsOf(baseline bool) []benchTarget {
	suffix := ""
	if baseline {
		suffix = baselineSuffix
	}
	var t []benchTarget
	hoso := r.rate("hoso" + suffix)
	if pg := r.bestPostgres(); hoso != nil && pg != nil && pg.Median > 0 {
		x := round(hoso.Median/pg.Median, 1)
		t = append(t, benchTarget{What: "drain / PostgreSQL peer at its best client count (" + pg.Name + ")", Got: fmt.Sprintf("%.1fx", x), Want: "≥ 15x", Met: x >= 15})
	}
	if hoso != nil && hoso.CPUPerEvent > 0 {
		x := round(hoso.CPUPerEvent, 1)
		t = append(t, benchTarget{What: "hoso's CPU per event in the drain", Got: fmt.Sprintf("%.1f µs", x), Want: "≤ 12 µs", Met: x <= 12})
	}
	if co := r.rate("ceiling-outcomes"); hoso != nil && co != nil && co.Median > 0 {
		x := round(hoso.Median/co.Median, 2)
		t = append(t, benchTarget{What: "drain / ceiling-outcomes (both publishing outcomes as the relay does)", Got: fmt.Sprintf("%.2f", x), Want: "≥ 0.60", Met: x >= 0.6})
	}
	if naive := r.rate("hoso-naive" + suffix); hoso != nil && naive != nil && naive.Median > 0 {
		x := round(hoso.Median/naive.Median, 1)
		t = append(t, benchTarget{What: "drain / naive mode", Got: fmt.Sprintf("%.1fx", x), Want: "≥ 10x", Met: x >= 10})
	}
	if rb := r.rate("rebuild" + suffix); rb != nil {
		x := math.Round(rb.Median)
		t = append(t, benchTarget{What: "rebuild by replay", Got: commas(int(x)) + " events/s", Want: "≥ 150,000 events/s", Met: x >= 150000})
	}
	if l := r.latencyAt(10000, baseline); l != nil {
		x := l.P99.Round(10 * time.Microsecond)
		t = append(t, benchTarget{What: "p99 publish → outcome at 10,000 events/s", Got: ms(x), Want: "≤ 20 ms", Met: x <= 20*time.Millisecond})
	}
	if l := r.latencyAt(20000, baseline); l != nil {
		t = append(t, benchTarget{What: "p99 publish → outcome at 20,000 events/s", Got: ms(l.P99)})
	}
	if sc := r.Scale; sc != nil && !baseline {
		at := fmt.Sprintf(" (%s dossiers)", commas(sc.Dossiers))
		t = append(t,
			benchTarget{What: "serve resident memory in service" + at, Got: mb(sc.RSS), Want: "< 300 MB", Met: sc.RSS < 300<<20},
			benchTarget{What: "store size per transition" + at, Got: fmt.Sprintf("%.0f B", math.Round(sc.BytesPerEntry)), Want: "≤ 300 B", Met: math.Round(sc.BytesPerEntry) <= 300},
			benchTarget{What: "dossier lookup through the API, p99" + at, Got: ms(sc.LookupP99), Want: "< 2 ms", Met: sc.LookupP99 < 2*time.Millisecond},
			benchTarget{What: "province-year statistics query, slowest" + at, Got: ms(sc.StatsMax), Want: "< 50 ms", Met: sc.StatsMax < 50*time.Millisecond},
			benchTarget{What: "verification of the store (chains, records, indexes), file in the page cache" + at, Got: commas(int(sc.VerifyWarmRate)) + " entries/s", Want: "> 1,000,000 entries/s", Met: sc.VerifyWarmRate > 1e6},
			benchTarget{What: "verification of the store (chains, records, indexes), file read from disk" + at, Got: commas(int(sc.VerifyRate)) + " entries/s", Want: "> 1,000,000 entries/s", Met: sc.VerifyRate > 1e6},
		)
	}
	return t
}

// round returns x rounded to digits decimals: a target is judged on the
// figure the report shows.
func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// mark says whether the target was met: met, not met, or "–" for a figure
// without a threshold.
func (x benchTarget) mark(met, notMet string) string {
	switch {
	case x.Want == "":
		return "–"
	case x.Met:
		return met
	default:
		return notMet
	}
}

// scaleLines describes the large-store measure, one line each.
func (sc *benchScale) lines() []string {
	return []string{
		fmt.Sprintf("built from %s synthetic transitions of %s dossiers in %s (%s transitions/s, one fsync at the end)",
			commas(sc.Transitions), commas(sc.Dossiers), sc.Build.Round(time.Second), commas(int(perSecond(sc.Transitions, sc.Build)))),
		fmt.Sprintf("store file %s: %.0f bytes per transition", mb(sc.FileBytes), sc.BytesPerEntry),
		fmt.Sprintf("serve, started with the store file out of the page cache: resident memory %s (%s of it its own heap and stacks, the rest pages of the mapped store file) after the lookups and queries; %s (%s) after verifying every chain",
			mb(sc.RSS), mb(sc.RSSAnon), mb(sc.RSSVerified), mb(sc.RSSAnonVerified)),
		fmt.Sprintf("dossier lookup through the API (GET /api/v1/dossiers/{code}, %s random codes): p50 %s, p99 %s", commas(sc.Lookups), ms(sc.LookupP50), ms(sc.LookupP99)),
		fmt.Sprintf("province-year statistics (GET /api/v1/stats?from=2026&to=2026, %d times): median %s, slowest %s", sc.StatsQueries, ms(sc.StatsP50), ms(sc.StatsMax)),
		fmt.Sprintf("verification of the store: chains, records against their history, indexes and counters (GET /api/v1/audit/verify, 1,000 dossiers a page): %s entries of %s dossiers in %s from disk, %s entries/s; again with the file in the page cache, %s, %s entries/s",
			commas(sc.Transitions), commas(sc.Verified), sc.VerifyTook.Round(time.Millisecond), commas(int(sc.VerifyRate)),
			sc.VerifyWarmTook.Round(time.Millisecond), commas(int(sc.VerifyWarmRate))),
	}
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%d MB", (b+1<<19)>>20)
}

// commas formats n with thousands separators: 30512 → "30,512".
func commas(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// header says what ran where, in one line.
func (r *benchResults) header() string { return r.stream() + "; " + r.where() }

// binaries says which hoso binaries ran: the current one and the
// baseline.
func (r *benchResults) binaries() string {
	s := "hoso " + r.Hoso.describe()
	if r.Baseline != nil {
		s += "; baseline " + r.Baseline.describe() + ", measured in turn with it run by run"
	}
	return s
}

// describe says what the binary is, in a few words.
func (h benchHoso) describe() string {
	var what []string
	if h.Built {
		what = append(what, "built from the source at hand")
	} else {
		what = append(what, h.Path)
	}
	if h.Revision != "" {
		rev := "revision " + h.Revision
		if h.Modified {
			rev += " (modified)"
		}
		what = append(what, rev)
	}
	if h.Go != "" {
		what = append(what, h.Go)
	}
	return strings.Join(what, ", ")
}

// stream describes the generated stream and the JetStream server.
func (r *benchResults) stream() string {
	return fmt.Sprintf("%s events of %s dossiers (%d bytes on average), generated by the simulator; JetStream fsync %s",
		commas(r.Events), commas(r.Dossiers), r.Bytes/max(r.Events, 1), r.NATSSync)
}

// where describes the machine.
func (r *benchResults) where() string {
	m := r.Machine
	return fmt.Sprintf("%s, %d cores, %d GiB, %s, %s; %s", m.CPU, m.Cores, m.MemoryGB, m.OS, m.Go, m.Date)
}

// The columns of the two tables, as printed (the Markdown headers say
// whose CPU and memory the latency columns are).
var (
	rateColumns    = []string{"measure", "events/s (median)", "runs", "events", "CPU s", "CPU µs/event", "peak RSS", "mean batch", "apply", "commit"}
	latencyColumns = []string{"offered/s", "achieved/s", "events", "p50", "p90", "p99", "max", "p99 of runs", "CPU s", "CPU µs/event", "peak RSS", "NATS CPU s", "mean batch", "apply", "commit"}
	latencyHeaders = []string{"offered events/s", "achieved", "events", "p50", "p90", "p99", "max", "p99 of each run", "serve CPU s", "serve CPU µs/event", "serve peak RSS", "NATS + load CPU s", "mean batch", "apply", "commit"}
)

// cells is a measure's row of the throughput table; sep separates its runs.
func (x *benchRate) cells(name, sep string) []string {
	runs := make([]string, len(x.Runs))
	for i, v := range x.Runs {
		runs[i] = commas(int(v))
	}
	cpu, perEvent := "–", "–"
	if x.CPU > 0 {
		cpu = fmt.Sprintf("%.1f", x.CPU)
	}
	if x.CPUPerEvent > 0 {
		perEvent = fmt.Sprintf("%.1f", x.CPUPerEvent)
	}
	batch, apply, commit := "–", "–", "–"
	if x.MeanBatch > 0 {
		batch, apply, commit = fmt.Sprintf("%.1f", x.MeanBatch), ms(x.MeanApply), ms(x.MeanCommit)
	}
	return []string{name, commas(int(x.Median)), strings.Join(runs, sep), commas(x.Events), cpu, perEvent, mb(x.PeakRSS), batch, apply, commit}
}

// cells is an offered load's row of the latency table.
func (l *benchLatency) cells() []string {
	runs := make([]string, len(l.P99Runs))
	for i, d := range l.P99Runs {
		runs[i] = fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
	}
	load := commas(l.Load)
	if l.Baseline {
		load += baselineSuffix
	}
	return []string{load, commas(int(l.Achieved)), commas(l.Events), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), strings.Join(runs, " "),
		fmt.Sprintf("%.1f", l.CPU), fmt.Sprintf("%.1f", l.CPUPerEvent), mb(l.PeakRSS), fmt.Sprintf("%.1f", l.NATSCPU), fmt.Sprintf("%.1f", l.MeanBatch), ms(l.MeanApply), ms(l.MeanCommit)}
}

// textTable writes rows under columns, aligned right.
func textTable(b *strings.Builder, columns []string, rows [][]string) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range append([][]string{columns}, rows...) {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

// markdownTable writes a Markdown table; align is one of ---, ---: per
// column.
func markdownTable(b *strings.Builder, columns, align []string, rows [][]string) {
	for _, row := range append([][]string{columns, align}, rows...) {
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
}

// text is the report printed at the end of a run.
func (r *benchResults) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n%s\n\n", r.header(), r.binaries())
	var rows [][]string
	for i := range r.Rates {
		rows = append(rows, r.Rates[i].cells(r.Rates[i].Name, " "))
	}
	textTable(&b, rateColumns, rows)
	if l := r.messagingShare(); l != "" {
		fmt.Fprintf(&b, "\n%s\n", l)
	}
	if len(r.Latency) > 0 {
		fmt.Fprintf(&b, "\npublish → outcome latency at a steady offered load (the run whose p99 is the median):\n\n")
		rows = nil
		for i := range r.Latency {
			rows = append(rows, r.Latency[i].cells())
		}
		textTable(&b, latencyColumns, rows)
	}
	if r.Scale != nil {
		fmt.Fprintf(&b, "\nlarge store:\n")
		for _, l := range r.Scale.lines() {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	if t := r.targets(); len(t) > 0 {
		fmt.Fprintf(&b, "\ntargets:\n")
		for _, x := range t {
			want := x.Want
			if want == "" {
				want = "no target"
			}
			base := ""
			if r.Baseline != nil {
				base = fmt.Sprintf(" baseline %-22s", or(x.Baseline, "–"))
			}
			fmt.Fprintf(&b, "  %-72s %-22s%s (%s) %s\n", x.What, x.Got, base, want, x.mark("MET", "NOT MET"))
		}
	}
	fmt.Fprintf(&b, "\nthe suite took %s\n", r.Took.Round(time.Second))
	return b.String()
}

// markdown is the report as Markdown tables, for docs/performance.md.
func (r *benchResults) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` — %s.\n\nBinaries: %s.\n\n", r.Command, r.header(), r.binaries())
	var rows [][]string
	for i := range r.Rates {
		x := &r.Rates[i]
		rows = append(rows, x.cells(x.Name+" — "+x.What, ", "))
	}
	markdownTable(&b, rateColumns, []string{"---", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"}, rows)
	if l := r.messagingShare(); l != "" {
		fmt.Fprintf(&b, "\n%s\n", l)
	}
	if len(r.Latency) > 0 {
		b.WriteString("\n")
		rows = nil
		for i := range r.Latency {
			rows = append(rows, r.Latency[i].cells())
		}
		align := make([]string, len(latencyHeaders))
		for i := range align {
			align[i] = "---:"
		}
		markdownTable(&b, latencyHeaders, align, rows)
	}
	if r.Scale != nil {
		fmt.Fprint(&b, "\nLarge store:\n\n")
		for _, l := range r.Scale.lines() {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if t := r.targets(); len(t) > 0 {
		b.WriteString("\n")
		rows = nil
		for _, x := range t {
			row := []string{x.What, x.Got, or(x.Want, "no target"), x.mark("met", "**not met**")}
			if r.Baseline != nil {
				row = slices.Insert(row, 2, or(x.Baseline, "–"))
			}
			rows = append(rows, row)
		}
		columns, align := []string{"target", "measured", "wanted", ""}, []string{"---", "---:", "---:", "---"}
		if r.Baseline != nil {
			columns, align = slices.Insert(columns, 2, "baseline"), slices.Insert(align, 2, "---:")
		}
		markdownTable(&b, columns, align, rows)
	}
	return b.String()
}

// write writes results.json, results.md and chart.svg into dir.
func (r *benchResults) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"results.json": append(j, '\n'),
		"results.md":   []byte(r.markdown()),
		"chart.svg":    []byte(r.svg()),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// svg draws the throughput of each measure and the latency percentiles
// at each offered load as horizontal bars.
func (r *benchResults) svg() string {
	const (
		width  = 900
		left   = 250 // labels
		right  = 120 // values
		barH   = 22
		gap    = 8
		titleH = 34
	)
	plot := float64(width - left - right)
	var b strings.Builder
	y := 0
	var body strings.Builder
	section := func(title string) {
		y += 10
		fmt.Fprintf(&body, `<text x="10" y="%d" class="h">%s</text>`+"\n", y+18, html.EscapeString(title))
		y += titleH
	}
	bar := func(label, value string, frac float64, class string) {
		w := max(1, frac*plot)
		fmt.Fprintf(&body, `<text x="%d" y="%d" class="l">%s</text>`, left-8, y+barH-6, html.EscapeString(label))
		fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%.1f" height="%d" class="%s"/>`, left, y, w, barH, class)
		fmt.Fprintf(&body, `<text x="%.1f" y="%d" class="v">%s</text>`+"\n", float64(left)+w+6, y+barH-6, html.EscapeString(value))
		y += barH + gap
	}

	section("Throughput, events/s (median of runs), same stream: " + commas(r.Events) + " events")
	top := 0.0
	for _, x := range r.Rates {
		top = max(top, x.Median)
	}
	mark := func(x float64, top int, label string) {
		fmt.Fprintf(&body, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="t"/>`, float64(left)+x*plot, top-4, float64(left)+x*plot, y-gap+4)
		fmt.Fprintf(&body, `<text x="%.1f" y="%d" class="tl">%s</text>`+"\n", float64(left)+x*plot+4, top+6, html.EscapeString(label))
	}
	first := y
	for _, x := range r.Rates {
		class := "peer"
		switch {
		case strings.HasPrefix(x.Name, "ceiling"):
			class = "ceil"
		case x.Baseline:
			class = "base"
		case strings.HasPrefix(x.Name, "hoso") || x.Name == "rebuild":
			class = "hoso"
		}
		bar(x.Name, commas(int(x.Median)), x.Median/max(top, 1), class)
	}
	if c := r.rate("ceiling-outcomes"); c != nil && top > 0 {
		mark(0.6*c.Median/top, first, "target: 0.6 × ceiling-outcomes")
	}
	if len(r.Latency) > 0 {
		section("Publish → outcome latency at a steady offered load, ms (p50, p90, p99)")
		worst := 20 * time.Millisecond // the target at 10,000 events/s
		for _, l := range r.Latency {
			worst = max(worst, l.P99)
		}
		first := y
		for _, l := range r.Latency {
			for _, p := range []struct {
				name  string
				d     time.Duration
				class string
			}{{"p50", l.P50, "p50"}, {"p90", l.P90, "p90"}, {"p99", l.P99, "p99"}} {
				label, class := fmt.Sprintf("%s/s %s", commas(l.Load), p.name), p.class
				if l.Baseline {
					label, class = label+baselineSuffix, class+" base"
				}
				bar(label, ms(p.d), float64(p.d)/float64(max(worst, 1)), class)
			}
			y += gap
		}
		mark(float64(20*time.Millisecond)/float64(worst), first, "20 ms")
	}
	y += 10
	for _, line := range []string{r.stream(), r.where()} {
		fmt.Fprintf(&body, `<text x="10" y="%d" class="f">%s</text>`+"\n", y+4, html.EscapeString(line))
		y += 14
	}
	y += 2
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, sans-serif">`+"\n", width, y, width, y)
	b.WriteString(`<style>.h{font-size:15px;font-weight:bold}.l{font-size:13px;text-anchor:end}.v{font-size:12px}.f{font-size:10px;fill:#555}` +
		`.ceil{fill:#9e9e9e}.hoso{fill:#1565c0}.peer{fill:#e65100}.p50{fill:#90caf9}.p90{fill:#42a5f5}.p99{fill:#0d47a1}.base{fill:#7e57c2;fill-opacity:.6}.t{stroke:#c62828;stroke-width:1.5;stroke-dasharray:5 4}.tl{font-size:11px;fill:#c62828}</style>` + "\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, y)
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}
