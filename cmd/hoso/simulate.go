package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/client"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// simulateCommand publishes a generated province-scale stream of dossier
// events (package simulate) to a running hoso: the demo, and the load of
// benchmarks.
type simulateCommand struct{ env }

// Publishing: most publishes awaiting their acknowledgement, how long to
// wait for one, and how often to print progress.
const (
	simWindow       = 2048
	simAckTimeout   = 30 * time.Second
	simProgressEach = 2 * time.Second
)

// simOptions are the command's settings beyond the generator's Config.
type simOptions struct {
	nats   *natsFlags
	source string  // the source the events are published under, whose inboxes its user may read
	speed  float64 // simulated seconds per real second; 0: as fast as acknowledged
	dryRun bool
	truth  bool
}

func (c *simulateCommand) Run(ctx context.Context, args []string) error {
	cfg := simulate.DefaultConfig()
	rules := engine.DefaultRulesConfig()
	var opt simOptions
	fs := newFlagSet("simulate", "simulate [flags]", c.stderr)
	opt.nats = addNATSFlags(fs, c.getenv, nats.DefaultURL, "NATS server of the running hoso")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the stream: the same seed gives the same events")
	fs.IntVar(&cfg.Dossiers, "dossiers", cfg.Dossiers, "number of dossiers (about 6 events each)")
	start := fs.String("start", "", "first day of the period, YYYY-MM-DD (dossiers arrive from 08:00); default: --days before today, so the period ends now and hoso's deadline scheduler sees a live province")
	fs.IntVar(&cfg.Days, "days", cfg.Days, "length of the period in calendar days")
	fs.IntVar(&cfg.Agencies, "agencies", cfg.Agencies, fmt.Sprintf("number of agencies, 2 to %d", simulate.MaxAgencies))
	fs.Float64Var(&cfg.Faults, "faults", cfg.Faults, "share of dossiers with an officer's fault, 0 to 1")
	fs.StringVar(&cfg.Source, "source", cfg.Source, "source token the events are published under")
	fs.Float64Var(&opt.speed, "speed", 0, "simulated seconds per real second (3600: an hour a second); 0 publishes as fast as JetStream acknowledges")
	fs.BoolVar(&opt.dryRun, "dry-run", false, "write the events to standard output as NDJSON CloudEvents (unreadable ones as their raw payload) instead of publishing")
	fs.BoolVar(&opt.truth, "truth", false, "print what a correct hoso must report (package simulate's Truth) as JSON to standard output at the end")
	addRulesFlags(fs, &rules, c.getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulate: unexpected arguments %q", fs.Args())
	}
	if *start == "" {
		*start = time.Now().In(workflow.Zone).AddDate(0, 0, -cfg.Days).Format(time.DateOnly)
	}
	day, err := time.ParseInLocation(time.DateOnly, *start, workflow.Zone)
	if err != nil {
		return fmt.Errorf("simulate: --start %q is not a date YYYY-MM-DD", *start)
	}
	cfg.Start = day.Add(8 * time.Hour)
	if opt.speed < 0 {
		return fmt.Errorf("simulate: --speed %v must not be negative", opt.speed)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cat, err := rules.Load()
	if err != nil {
		return fmt.Errorf("simulate: load rules: %w", err)
	}
	began := time.Now()
	items, truth, err := simulate.Generate(cfg, cat)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "generated %s events of %s dossiers (seed %d, %s to %s) in %s\n",
		commas(len(items)), commas(truth.Dossiers), cfg.Seed, cfg.Start.Format(time.DateOnly),
		cfg.Start.AddDate(0, 0, cfg.Days-1).Format(time.DateOnly), time.Since(began).Round(time.Millisecond))
	opt.source = cfg.Source
	if opt.dryRun {
		err = c.write(items)
	} else {
		err = c.publish(ctx, items, truth, opt)
	}
	if err != nil {
		return err
	}
	if opt.truth {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(truth)
	}
	return nil
}

// write writes the items as NDJSON: one CloudEvent, or one unreadable
// payload, a line.
func (c *simulateCommand) write(items []simulate.Item) error {
	w := bufio.NewWriterSize(c.stdout, 1<<16)
	for i, it := range items {
		data, err := payload(it)
		if err != nil {
			return fmt.Errorf("simulate: item %d: %w", i, err)
		}
		w.Write(data)
		w.WriteByte('\n')
	}
	return w.Flush()
}

// payload returns the bytes an item is published as.
func payload(it simulate.Item) ([]byte, error) {
	if it.Event == nil {
		return it.Raw, nil
	}
	return events.Encode(it.Event)
}

// publish publishes the items with JetStream, keeping at most simWindow
// unacknowledged, and waits for every acknowledgement.
func (c *simulateCommand) publish(ctx context.Context, items []simulate.Item, truth *simulate.Truth, opt simOptions) error {
	nc, err := opt.nats.connect("hoso simulate", opt.source)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer nc.Close()
	src, err := client.NewSource(nc, opt.source)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	win, err := src.NewWindow(simWindow, simAckTimeout)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}

	p := &publisher{pub: win, url: opt.nats.url, out: c.stderr, total: len(items), began: time.Now()}
	p.last = p.began
	var simStart time.Time
	if len(items) > 0 {
		simStart = items[0].Time
	}
	for i, it := range items {
		if opt.speed > 0 {
			due := p.began.Add(time.Duration(float64(it.Time.Sub(simStart)) / opt.speed))
			if err := p.sleepUntil(ctx, due); err != nil {
				return p.failed(ctx, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return p.failed(ctx, err)
		}
		data, err := payload(it)
		if err != nil {
			return fmt.Errorf("simulate: item %d: %w", i, err)
		}
		msg := &nats.Msg{Subject: it.Subject, Data: data, Header: nats.Header{}}
		if it.MsgID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, it.MsgID)
		}
		if err := p.pub.PublishMsg(ctx, msg); err != nil {
			return p.failed(ctx, err)
		}
		p.progress()
	}
	if err := p.pub.Flush(ctx); err != nil {
		return p.failed(ctx, err)
	}
	acked, dropped := p.pub.Acked(), p.pub.Dropped()
	elapsed := time.Since(p.began)
	fmt.Fprintf(c.stderr, "published %s events in %s (%s/s)\n", commas(acked), elapsed.Round(time.Millisecond), commas(int(perSecond(acked, elapsed))))
	if dropped > 0 {
		fmt.Fprintf(c.stderr, "JetStream dropped %s events as repeats of events published in the last minutes: was this seed published already? hoso saw them once\n", commas(dropped))
	}
	fmt.Fprint(c.stderr, summary(truth))
	return nil
}

// publisher is one publication's progress.
type publisher struct {
	pub   *client.Window
	url   string // the servers, for messages
	out   io.Writer
	total int
	began time.Time
	last  time.Time // of the last progress line
}

// progress prints a progress line every simProgressEach.
func (p *publisher) progress() {
	if now := time.Now(); now.Sub(p.last) >= simProgressEach {
		p.last = now
		acked := p.pub.Acked()
		fmt.Fprintf(p.out, "published %s/%s events (%s/s)\n", commas(acked), commas(p.total), commas(int(perSecond(acked, now.Sub(p.began)))))
	}
}

// sleepUntil waits for the instant, printing progress on the way.
func (p *publisher) sleepUntil(ctx context.Context, t time.Time) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(min(d, simProgressEach))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		p.pub.Collect()
		p.progress()
	}
}

// failed is the error of a publication that stopped: interrupted (ctx
// ended), or refused by JetStream.
func (p *publisher) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("simulate: stopped after %s of %s events were acknowledged: %w", commas(p.pub.Acked()), commas(p.total), err)
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		return fmt.Errorf("simulate: no JetStream stream at %s takes hoso's events (is `hoso serve` running there?): %w", events.RedactURL(p.url), err)
	}
	return fmt.Errorf("simulate: %w", err)
}

// summary says in a few lines what hoso must report once it has applied
// the stream.
func summary(t *simulate.Truth) string {
	var b strings.Builder
	tot := t.Total
	fmt.Fprintf(&b, "expect %s dossiers: %s received (%s submitted online), %s resolved (%s returned), %s in progress, %s paused, %s withdrawn, %s refused, %s stopped\n",
		commas(t.Dossiers), commas(tot.Received), commas(tot.ReceivedOnline), commas(tot.Resolved), commas(tot.Returned), commas(tot.InProgress),
		commas(tot.Paused), commas(tot.Withdrawn), commas(tot.Refused), commas(tot.Stopped))
	if tot.Resolved > 0 {
		fmt.Fprintf(&b, "  of %s resolved, against the original due date: %s early, %s on time, %s late, %s of them with an apology (%.2f%% early or on time)\n",
			commas(tot.Resolved), commas(tot.ResolvedEarly), commas(tot.ResolvedOnTime), commas(tot.ResolvedLate), commas(tot.ResolvedLateApology),
			100*float64(tot.ResolvedEarly+tot.ResolvedOnTime)/float64(tot.Resolved))
	}
	reasons := make([]string, 0, len(tot.Rejected))
	for _, r := range workflow.Reasons() {
		if n := tot.Rejected[r]; n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %s", commas(n), r))
		}
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "none")
	}
	fmt.Fprintf(&b, "  %s events applied, %s corrections, %s mismatches; rejections: %s\n",
		commas(t.Accepted), commas(t.Corrections), commas(t.Mismatches), strings.Join(reasons, ", "))
	kinds := make([]string, len(workflow.IrregularityKinds))
	for i, k := range workflow.IrregularityKinds {
		kinds[i] = fmt.Sprintf("%s %s", commas(tot.Irregularities[k]), k)
	}
	fmt.Fprintf(&b, "  irregularities: %s\n", strings.Join(kinds, ", "))
	return b.String()
}

// perSecond returns n per d, in events/s.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
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
