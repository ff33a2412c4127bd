package natsserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hoso-vn/hoso/events"

	"github.com/nats-io/nats.go"
)

// Defaults of QuotaConfig.
const (
	DefaultQuotaWindow = time.Hour
	quotaTick          = time.Second
	// quotaPending bounds what the quota's subscription may hold unread;
	// past it messages go uncounted rather than filling memory.
	quotaPendingMsgs  = 1 << 20
	quotaPendingBytes = 256 << 20
)

// QuotaConfig configures a Quota. Zero fields take the defaults.
type QuotaConfig struct {
	// MaxBytes is the most a source may publish on its event subjects in
	// one Window: subjects, headers and payloads, as the server received
	// them. Required.
	MaxBytes int64
	// Window is the span of the quota, from one whole multiple of it to
	// the next (an hour: from one o'clock to two); default
	// DefaultQuotaWindow.
	Window time.Duration
	// Logger receives the quota's log; nil discards it.
	Logger *slog.Logger
	// OnBlock, if set, is called when a source is blocked (until the end
	// of the window) or unblocked (until is zero) (a metrics hook). It
	// must be quick.
	OnBlock func(source string, until time.Time)
	// Now is the quota's clock; nil is time.Now. Tick is how often it
	// looks at it to end a window; default one second (tests).
	Now  func() time.Time
	Tick time.Duration
}

// Quota keeps each source of the embedded server within a number of bytes
// of events per window, so that one source flooding the log cannot fill
// the disk for the others. It counts what every source publishes on
// hoso.events.<source>.> (a core subscription of the engine's own
// connection, which sees every publish the server takes); once a source
// has published more than MaxBytes in the current window, it blocks the
// source (Server.BlockSource) until the window ends: the server refuses
// its further publishes as permission violations, and nothing of them
// reaches the log. The events that got in before are kept and applied as
// any others. hoso's own events (source hoso) are not counted.
type Quota struct {
	srv     *Server
	nc      *nats.Conn
	max     int64
	window  time.Duration
	now     func() time.Time
	tick    time.Duration
	log     *slog.Logger
	onBlock func(string, time.Time)

	mu      sync.Mutex       // guards the three below
	start   time.Time        // start of the current window
	counts  map[string]int64 // bytes published by each source in the window
	blocked map[string]bool  // sources blocked in the window
	over    chan string      // sources that went over, for Run to block
}

// NewQuota returns a quota of srv's sources, counted through nc, which
// must be a connection of the engine's user.
func NewQuota(srv *Server, nc *nats.Conn, cfg QuotaConfig) *Quota {
	if cfg.Window <= 0 {
		cfg.Window = DefaultQuotaWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = quotaTick
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Quota{srv: srv, nc: nc, max: cfg.MaxBytes, window: cfg.Window, now: cfg.Now, tick: cfg.Tick,
		log: cfg.Logger, onBlock: cfg.OnBlock, counts: map[string]int64{}, blocked: map[string]bool{},
		over: make(chan string, 64)}
}

// Blocked returns the sources blocked now.
func (q *Quota) Blocked() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for s := range q.blocked {
		out = append(out, s)
	}
	return out
}

// Run counts and blocks until ctx ends; when it returns, every source it
// blocked is unblocked.
func (q *Quota) Run(ctx context.Context) error {
	q.mu.Lock()
	q.start = q.now().Truncate(q.window)
	q.mu.Unlock()
	sub, err := q.nc.Subscribe(events.EventsSubject, q.count)
	if err != nil {
		return fmt.Errorf("events: quota: subscribe: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := sub.SetPendingLimits(quotaPendingMsgs, quotaPendingBytes); err != nil {
		return fmt.Errorf("events: quota: %w", err)
	}
	defer q.unblockAll()
	t := time.NewTicker(q.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case source := <-q.over:
			q.block(source)
		case <-t.C:
			q.mu.Lock()
			next := q.start.Add(q.window)
			ended := !q.now().Before(next)
			if ended {
				q.start = q.now().Truncate(q.window)
				clear(q.counts)
			}
			q.mu.Unlock()
			if ended {
				q.unblockAll()
			}
		}
	}
}

// count adds a published event to its source's bytes in the window.
func (q *Quota) count(m *nats.Msg) {
	rest, ok := strings.CutPrefix(m.Subject, events.EventsPrefix)
	if !ok {
		return
	}
	source, _, _ := strings.Cut(rest, ".")
	if source == "hoso" || source == "" {
		return
	}
	q.mu.Lock()
	q.counts[source] += int64(m.Size())
	over := q.counts[source] > q.max && !q.blocked[source]
	if over {
		q.blocked[source] = true // once per window
	}
	q.mu.Unlock()
	if over {
		select {
		case q.over <- source:
		default: // Run has ended
		}
	}
}

func (q *Quota) block(source string) {
	q.mu.Lock()
	until, n := q.start.Add(q.window), q.counts[source]
	q.mu.Unlock()
	if err := q.srv.BlockSource(source, true); err != nil {
		q.log.Error("quota: block source", "source", source, "err", err)
		return
	}
	q.log.Warn("source over its quota: its events are refused until the window ends", "source", source,
		"published_bytes", n, "quota_bytes", q.max, "until", until)
	if q.onBlock != nil {
		q.onBlock(source, until)
	}
}

func (q *Quota) unblockAll() {
	q.mu.Lock()
	blocked := q.blocked
	q.blocked = map[string]bool{}
	q.mu.Unlock()
	for source := range blocked {
		if err := q.srv.BlockSource(source, false); err != nil {
			q.log.Error("quota: unblock source", "source", source, "err", err)
			continue
		}
		q.log.Info("source may publish again: a new quota window", "source", source)
		if q.onBlock != nil {
			q.onBlock(source, time.Time{})
		}
	}
}
