package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/workflow"
)

// DueLister lists the dossiers whose statutory clock runs towards a due
// date at or before t and whose expiry is not yet recorded, earliest first,
// a page at a time (store.DB satisfies it).
type DueLister interface {
	Due(ctx context.Context, t time.Time, after string, max int) ([]workflow.Dossier, string, error)
}

// PeriodLister tells the last month whose close (a period-close event,
// workflow.PeriodCloseAction) the store has applied, "" when none
// (store.DB satisfies it).
type PeriodLister interface {
	LastPeriod(ctx context.Context) (string, error)
}

// DefaultSchedulerInterval is how often the scheduler looks for deadlines.
const DefaultSchedulerInterval = time.Minute

// SchedulerConfig configures a Scheduler. Zero fields take the defaults.
type SchedulerConfig struct {
	// Interval between scans; default DefaultSchedulerInterval.
	Interval time.Duration
	// Calendar returns the calendar in force, which counts the working
	// day before a due date; required. It is called at each scan: a
	// calendar event puts another in force while the scheduler runs.
	Calendar func() *workflow.Calendar
	// Now is the scheduler's clock; default time.Now. Only the scheduler
	// reads a clock: the engine applies what it publishes.
	Now func() time.Time
	// Periods, when set, makes the scheduler close the months: see
	// Scheduler. Nil closes none.
	Periods PeriodLister
	Logger  *slog.Logger
}

// Scheduler publishes hoso's deadline events (and, see below, the
// months' closes) into the event stream: a
// warning when a running clock is due within one working day, an expiry
// when the due date has passed. The engine applies them like any event, so
// the apply path never reads the wall clock and a replay of the stream
// gives the same flags.
//
// Each event's id (and Nats-Msg-Id) names the action, the dossier and the
// due date, so scanning again before the engine has applied an event, or a
// second scheduler, publishes nothing new: JetStream drops the repeat
// within its window and the engine's permanent dedupe after it. One
// scheduler per stream is enough; with replicas, the leader runs it.
//
// With SchedulerConfig.Periods it also closes the months: at its first
// scan after a month ends in Vietnam it publishes the month's
// period-close event (workflow.PeriodCloseAction), and at each scan it
// publishes those of the months ended since the last close the store has
// applied, so an engine that was down at a month's end catches up when it
// starts. A store that has applied no close starts with the first month
// boundary the scheduler sees pass: it never closes, late, months it did
// not run through. The event's id names the month
// (workflow.PeriodCloseID), so a repeat is dropped like a deadline's.
type Scheduler struct {
	js  jetstream.JetStream
	due DueLister
	cfg SchedulerConfig
	log *slog.Logger
	// started is the month of the first scan: with no close applied, the
	// first month the scheduler may close. Only Scan, which Run calls
	// from one goroutine, reads and writes it.
	started string
}

// NewScheduler returns a scheduler publishing through js.
func NewScheduler(js jetstream.JetStream, due DueLister, cfg SchedulerConfig) *Scheduler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultSchedulerInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{js: js, due: due, cfg: cfg, log: cfg.Logger}
}

// Run scans at once and then every interval until ctx ends; it returns nil
// then. A failed scan is logged and tried again at the next interval.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if n, err := s.Scan(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("deadline scan", "err", err)
		} else if n > 0 {
			s.log.Info("scheduled events published", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan publishes the period closes and the deadline events due now, in
// that order, and returns how many it published (repeats JetStream
// dropped are not counted).
func (s *Scheduler) Scan(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	published, err := s.closePeriods(ctx, now)
	if err != nil {
		return published, err
	}
	n, err := s.scanDeadlines(ctx, now)
	return published + n, err
}

// closePeriods publishes the period-close events of the months ended
// before now and not yet closed, oldest first.
func (s *Scheduler) closePeriods(ctx context.Context, now time.Time) (int, error) {
	if s.cfg.Periods == nil {
		return 0, nil
	}
	current := workflow.Month(now)
	if s.started == "" {
		s.started = current
	}
	last, err := s.cfg.Periods.LastPeriod(ctx)
	if err != nil {
		return 0, fmt.Errorf("last period closed: %w", err)
	}
	month := s.started
	if last != "" {
		month = workflow.NextMonth(last)
	}
	published := 0
	for ; month != "" && month < current; month = workflow.NextMonth(month) {
		ok, err := s.publishPeriodClose(ctx, month, now)
		if err != nil {
			return published, err
		}
		if ok {
			published++
		}
	}
	return published, nil
}

// publishPeriodClose sends the period-close event of a month at the time
// now; it reports false when JetStream dropped it as a repeat.
func (s *Scheduler) publishPeriodClose(ctx context.Context, month string, now time.Time) (bool, error) {
	ev := &workflow.Event{
		ID:        workflow.PeriodCloseID(month),
		SourceURI: "/hoso/scheduler",
		Source:    workflow.SystemSource,
		Action:    workflow.PeriodCloseAction,
		Dossier:   workflow.PeriodSubject(month),
		Time:      now,
		Actor:     workflow.SystemSource,
		Period:    month,
	}
	data, err := Encode(ev)
	if err != nil {
		return false, fmt.Errorf("encode the close of %s: %w", month, err)
	}
	msg := &nats.Msg{Subject: Subject(workflow.SystemSource, ev.Dossier), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("publish the close of %s: %w", month, err)
	}
	return !ack.Duplicate, nil
}

// scanDeadlines publishes the deadline events due at now.
func (s *Scheduler) scanDeadlines(ctx context.Context, now time.Time) (int, error) {
	cal := s.cfg.Calendar()
	horizon := cal.AddWorking(now, cal.Config().Hours.Day())
	published := 0
	after := ""
	for {
		list, next, err := s.due.Due(ctx, horizon, after, 1000)
		if err != nil {
			return published, fmt.Errorf("list due dossiers: %w", err)
		}
		for i := range list {
			d := &list[i]
			action := workflow.DeadlineWarning
			switch {
			case !d.Due.After(now):
				action = workflow.DeadlineExpired
			case d.Warned:
				continue
			}
			ok, err := s.publish(ctx, d, action, now)
			if err != nil {
				return published, err
			}
			if ok {
				published++
			}
		}
		if next == "" {
			return published, nil
		}
		after = next
	}
}

// publish sends one deadline event; it reports false when JetStream
// dropped it as a repeat.
func (s *Scheduler) publish(ctx context.Context, d *workflow.Dossier, action string, now time.Time) (bool, error) {
	ev := &workflow.Event{
		ID:        fmt.Sprintf("%s/%s/%d", action, d.Code, d.Due.UnixNano()),
		SourceURI: "/hoso/scheduler",
		Source:    workflow.SystemSource,
		Action:    action,
		Dossier:   d.Code,
		Time:      now,
		Procedure: d.Procedure,
		Agency:    d.Agency,
		Actor:     workflow.SystemSource,
		Due:       d.Due,
	}
	data, err := Encode(ev)
	if err != nil {
		return false, fmt.Errorf("encode %s of %s: %w", action, d.Code, err)
	}
	msg := &nats.Msg{Subject: Subject(workflow.SystemSource, d.Code), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("publish %s of %s: %w", action, d.Code, err)
	}
	return !ack.Duplicate, nil
}
