package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// Defaults of a Source.
const (
	// DefaultAttemptTimeout is how long one attempt to publish waits for
	// JetStream's acknowledgement before it is tried again.
	DefaultAttemptTimeout = 5 * time.Second
	// DefaultRetryWait is the pause between two attempts.
	DefaultRetryWait = 250 * time.Millisecond
)

// ErrDuplicate is returned by Emit when JetStream acknowledged the event
// as a duplicate: the stream already held an event with its id, whose
// outcome was published when it was applied (read it with Outcomes).
var ErrDuplicate = errors.New("client: duplicate event")

// Source is one source system of the contract (a one-stop-shop, e.g.
// tayninh) on a NATS connection: it publishes the source's events and
// reads its outcomes. It is safe for concurrent use; it does not own the
// connection.
type Source struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	source    string
	sourceURI string
	attempt   time.Duration
	retryWait time.Duration
}

// Option configures a Source.
type Option func(*Source)

// WithSourceURI sets the CloudEvent source of the events; the default is
// "/" followed by the source token, e.g. /tayninh.
func WithSourceURI(uri string) Option { return func(s *Source) { s.sourceURI = uri } }

// WithAttemptTimeout sets how long one attempt to publish waits for its
// acknowledgement before it is tried again; default DefaultAttemptTimeout.
func WithAttemptTimeout(d time.Duration) Option { return func(s *Source) { s.attempt = d } }

// WithRetryWait sets the pause between two attempts to publish; default
// DefaultRetryWait.
func WithRetryWait(d time.Duration) Option { return func(s *Source) { s.retryWait = d } }

// InboxPrefix returns the connection option a source's user needs under
// access control: its replies (publish acknowledgements, fetched
// outcomes) come on its own inboxes, _INBOX_<source>, the only ones it
// may subscribe to. Pass it to nats.Connect:
//
//	nc, err := nats.Connect(url, nats.UserInfo(user, password), client.InboxPrefix("tayninh"))
func InboxPrefix(source string) nats.Option {
	return nats.CustomInboxPrefix(events.InboxPrefix(source))
}

// NewSource returns the source named by its subject token (e.g. tayninh:
// lowercase letters, digits, _ and -) on nc. Connect nc with
// InboxPrefix(source) when the server has access control.
func NewSource(nc *nats.Conn, source string, opts ...Option) (*Source, error) {
	if nc == nil {
		return nil, errors.New("client: nil connection")
	}
	s := &Source{nc: nc, source: source, sourceURI: "/" + source, attempt: DefaultAttemptTimeout, retryWait: DefaultRetryWait}
	for _, o := range opts {
		o(s)
	}
	if s.attempt <= 0 || s.retryWait < 0 {
		return nil, fmt.Errorf("client: attempt timeout %s and retry wait %s must be positive", s.attempt, s.retryWait)
	}
	// The source token and URI are checked as hoso checks them, on a
	// probe event.
	probe := Event{ID: "probe", Time: time.Now(), Action: Submit, Dossier: "probe", Procedure: "p", Agency: "a", Actor: "a"}
	if _, _, err := probe.Encode(source, s.sourceURI); err != nil {
		return nil, fmt.Errorf("client: source %q (URI %q): %w", source, s.sourceURI, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	s.js = js
	return s, nil
}

// Name returns the source token.
func (s *Source) Name() string { return s.source }

// Ack is JetStream's acknowledgement of a published event.
type Ack struct {
	ID      string // the event's id, sent as Nats-Msg-Id
	Subject string // the subject it was published on
	// Sequence is the event's sequence in HOSO_EVENTS: its outcome's Seq.
	// For a duplicate it is the first copy's.
	Sequence uint64
	// Duplicate is set when the stream already held an event with this id,
	// published within its duplicate window (2 minutes): this copy was
	// dropped and gets no outcome of its own. It is also what a retry sees
	// whose earlier attempt was stored but not acknowledged in time.
	Duplicate bool
	// Attempts is how many times the event was sent.
	Attempts int
}

// Publish validates ev (Event.Encode) and publishes it on
// hoso.events.<source>.<dossier-token> with Nats-Msg-Id = ev.ID, then
// awaits JetStream's acknowledgement. An attempt that times out, finds no
// stream (no responders) or meets a lost connection is repeated with the
// same message until one is acknowledged or ctx ends; any other error
// (a permission violation, a message too large) is returned at once.
func (s *Source) Publish(ctx context.Context, ev *Event) (Ack, error) {
	subject, payload, err := ev.Encode(s.source, s.sourceURI)
	if err != nil {
		return Ack{}, err
	}
	return s.publish(ctx, subject, ev.ID, payload)
}

// PublishJSON publishes a CloudEvent JSON payload encoded elsewhere, as
// it is, like Publish: its id and subject (the dossier code) give the
// Nats-Msg-Id and the NATS subject. Only those are checked: hoso judges
// the rest and answers a payload it cannot read with a rejected
// outcome.
func (s *Source) PublishJSON(ctx context.Context, payload []byte) (Ack, error) {
	id, dossier, err := head(payload)
	if err != nil {
		return Ack{}, err
	}
	return s.publish(ctx, events.Subject(s.source, dossier), id, payload)
}

// head reads the id and subject of a CloudEvent JSON payload.
func head(payload []byte) (id, dossier string, err error) {
	var h struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(payload, &h); err != nil {
		return "", "", fmt.Errorf("%w: not a CloudEvent JSON object: %w", ErrInvalidEvent, err)
	}
	if h.ID == "" || h.Subject == "" {
		return "", "", fmt.Errorf("%w: the event needs an id and a subject (the dossier code)", ErrInvalidEvent)
	}
	return h.ID, h.Subject, nil
}

func (s *Source) publish(ctx context.Context, subject, id string, payload []byte) (Ack, error) {
	msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, s.attempt)
		ack, err := s.js.PublishMsg(actx, msg)
		cancel()
		if err == nil {
			return Ack{ID: id, Subject: subject, Sequence: ack.Sequence, Duplicate: ack.Duplicate, Attempts: n}, nil
		}
		if le := s.nc.LastError(); errors.Is(le, nats.ErrPermissionViolation) && strings.Contains(le.Error(), `"`+subject+`"`) {
			// The server refuses the subject to this user: no retry
			// can succeed. nats.go reports it on the connection only.
			err = le
		}
		if ctx.Err() != nil || !retryable(err) {
			return Ack{ID: id, Subject: subject, Attempts: n}, fmt.Errorf("publish %s to %s (attempt %d): %w", id, subject, n, err)
		}
		t := time.NewTimer(s.retryWait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Ack{ID: id, Subject: subject, Attempts: n}, fmt.Errorf("publish %s to %s (attempt %d): %w (%w)", id, subject, n, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// retryable reports whether a publish that failed with err may have
// failed for a passing cause, so that sending it again can succeed.
func retryable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting)
}

// Emit publishes ev like Publish and waits until ctx ends for its
// outcome: what `hoso emit` does. It subscribes to the dossier's outcomes
// first, so the outcome cannot pass unseen. A duplicate acknowledgement
// returns the Ack and an error wrapping ErrDuplicate: no new outcome
// comes. When ctx ends before the outcome, the Ack says where the event
// was stored and the error wraps ctx.Err().
func (s *Source) Emit(ctx context.Context, ev *Event) (*Outcome, Ack, error) {
	subject, payload, err := ev.Encode(s.source, s.sourceURI)
	if err != nil {
		return nil, Ack{}, err
	}
	return s.emit(ctx, subject, ev.ID, ev.Dossier, payload)
}

// EmitJSON is Emit for a payload encoded elsewhere, as PublishJSON
// publishes it.
func (s *Source) EmitJSON(ctx context.Context, payload []byte) (*Outcome, Ack, error) {
	id, dossier, err := head(payload)
	if err != nil {
		return nil, Ack{}, err
	}
	return s.emit(ctx, events.Subject(s.source, dossier), id, dossier, payload)
}

func (s *Source) emit(ctx context.Context, subject, id, dossier string, payload []byte) (*Outcome, Ack, error) {
	sub, err := s.nc.SubscribeSync(events.OutcomeFilter(s.source, dossier))
	if err != nil {
		return nil, Ack{}, fmt.Errorf("subscribe to the outcomes of %s: %w", dossier, err)
	}
	defer sub.Unsubscribe()
	ack, err := s.publish(ctx, subject, id, payload)
	if err != nil {
		return nil, ack, err
	}
	if ack.Duplicate {
		return nil, ack, fmt.Errorf("%w: event %s was dropped as a repeat of sequence %d", ErrDuplicate, id, ack.Sequence)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, ack, fmt.Errorf("no outcome for event %s (stream sequence %d): %w", id, ack.Sequence, err)
		}
		o, err := parseOutcome(m.Data)
		if err != nil || o.Seq != ack.Sequence {
			continue
		}
		return o, ack, nil
	}
}
