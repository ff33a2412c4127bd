package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Guard removes the consumers of hoso's streams that no client of the
// contract may have, as soon as they appear:
//   - a push consumer (one with a deliver subject) on HOSO_EVENTS,
//     HOSO_OUTCOMES or HOSO_DEADLETTER. The server delivers a push
//     consumer's messages to whatever subject its creator named, whether
//     or not the creator may publish there (nats-io/nats-server#8274): a
//     source allowed to create its outcome consumer could make it push
//     its outcomes into another source's event subjects. hoso and its
//     tools read with pull consumers only (ordered consumers included);
//   - a source's outcome consumer, outcomes-<source>, whose filter is not
//     that source's outcomes (hoso.outcomes.*.<source>.>).
//
// It reacts to the server's consumer-created advisories at once and
// sweeps every CheckInterval besides (advisories are not delivered while
// disconnected). Each removal is logged and reported (OnRemove). Run it
// in one engine of a deployment (the leader), with a user that may delete
// consumers.
type Guard struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	every    time.Duration
	log      *slog.Logger
	onRemove func(stream, consumer, why string)
}

// GuardConfig configures a Guard. Zero fields take the defaults.
type GuardConfig struct {
	// CheckInterval is how often the guard sweeps every consumer of hoso's
	// streams; default DefaultCheckInterval.
	CheckInterval time.Duration
	// Logger receives the guard's log; nil discards it.
	Logger *slog.Logger
	// OnRemove, if set, is called after each consumer the guard removed,
	// with why (a metrics hook). It must be quick.
	OnRemove func(stream, consumer, why string)
}

// NewGuard returns a guard of hoso's streams on nc.
func NewGuard(nc *nats.Conn, js jetstream.JetStream, cfg GuardConfig) *Guard {
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{nc: nc, js: js, every: cfg.CheckInterval, log: cfg.Logger, onRemove: cfg.OnRemove}
}

// guardedStreams are the streams whose consumers the guard checks.
var guardedStreams = []string{EventsStream, OutcomesStream, DeadLetterStream}

// Run guards until ctx ends, then returns nil.
func (g *Guard) Run(ctx context.Context) error {
	created := make(chan *nats.Msg, 64)
	var subs []*nats.Subscription
	for _, s := range guardedStreams {
		sub, err := g.nc.ChanSubscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED."+s+".*", created)
		if err != nil {
			g.log.Warn("guard: subscribe to consumer advisories", "stream", s, "err", err)
			continue
		}
		subs = append(subs, sub)
	}
	defer func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}()
	t := time.NewTicker(g.every)
	defer t.Stop()
	for {
		g.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case m := <-created:
			// <prefix>.<stream>.<consumer>
			tokens := strings.Split(m.Subject, ".")
			if len(tokens) >= 2 {
				g.check(ctx, tokens[len(tokens)-2], tokens[len(tokens)-1])
			}
		}
	}
}

// Sweep checks every consumer of hoso's streams once and removes those
// no client may have; errors are logged.
func (g *Guard) Sweep(ctx context.Context) {
	for _, s := range guardedStreams {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		str, err := g.js.Stream(cctx, s)
		if err != nil {
			cancel()
			if ctx.Err() == nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				g.log.Warn("guard: look up stream", "stream", s, "err", err)
			}
			continue
		}
		l := str.ListConsumers(cctx)
		for info := range l.Info() {
			if why := forbidden(s, info.Config); why != "" {
				g.remove(ctx, s, info.Name, why)
			}
		}
		if err := l.Err(); err != nil && ctx.Err() == nil {
			g.log.Warn("guard: list consumers", "stream", s, "err", err)
		}
		cancel()
	}
}

// check checks one consumer, named by an advisory.
func (g *Guard) check(ctx context.Context, stream, name string) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	cons, err := g.js.Consumer(cctx, stream, name)
	if err != nil {
		return // gone already, or the sweep will see it
	}
	if why := forbidden(stream, cons.CachedInfo().Config); why != "" {
		g.remove(ctx, stream, name, why)
	}
}

func (g *Guard) remove(ctx context.Context, stream, name, why string) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := g.js.DeleteConsumer(cctx, stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		g.log.Error("guard: remove forbidden consumer", "stream", stream, "consumer", name, "why", why, "err", err)
		return
	}
	g.log.Error("guard: removed forbidden consumer", "stream", stream, "consumer", name, "why", why)
	if g.onRemove != nil {
		g.onRemove(stream, name, why)
	}
}

// forbidden says why no client may have a consumer of this configuration
// on the stream, or "" if one may.
func forbidden(stream string, cfg jetstream.ConsumerConfig) string {
	if cfg.DeliverSubject != "" {
		return fmt.Sprintf("push consumer delivering to %q: hoso's streams are read with pull consumers", cfg.DeliverSubject)
	}
	if stream != OutcomesStream {
		return ""
	}
	name := cfg.Durable
	if name == "" {
		name = cfg.Name
	}
	source, ok := strings.CutPrefix(name, OutcomeConsumer(""))
	if !ok {
		return ""
	}
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append(filters, cfg.FilterSubject)
	}
	for _, f := range filters {
		if !ownOutcomes(f, source) {
			return fmt.Sprintf("outcome consumer of source %q filtered on %q, outside hoso.outcomes.*.%s.>", source, f, source)
		}
	}
	if len(filters) == 0 {
		return fmt.Sprintf("outcome consumer of source %q without a filter: every source's outcomes", source)
	}
	return ""
}

// ownOutcomes reports whether every subject the filter matches is an
// outcome of the source: hoso.outcomes.<kind>.<source>.<token…>.
func ownOutcomes(filter, source string) bool {
	t := strings.Split(filter, ".")
	return len(t) >= 5 && t[0] == "hoso" && t[1] == "outcomes" && t[2] != ">" && t[3] == source
}
