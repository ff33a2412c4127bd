package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of StreamConfig.
const (
	DefaultDuplicateWindow  = 2 * time.Minute
	DefaultOutcomesMaxAge   = 30 * 24 * time.Hour
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
	DefaultAckWait          = 30 * time.Second
	// DefaultMaxEventsPerDossier is StreamConfig.MaxEventsPerDossier's
	// default: far more than any dossier's handling makes, far less than
	// a flood.
	DefaultMaxEventsPerDossier = 10000
	// DefaultDeadLettersPerSource is StreamConfig.DeadLettersPerSource's
	// default.
	DefaultDeadLettersPerSource = 100000
	DefaultMaxAckPending        = 20000
	// outcomesDuplicateWindow covers a relay that restarts and republishes
	// what it had sent but not yet marked published.
	outcomesDuplicateWindow = 10 * time.Minute
	// streamMsgHeadroom is what the events stream accepts beyond
	// MaxMessageSize (headers, a slightly oversized payload): such a
	// message is stored and rejected by Decode as malformed, so its sender
	// learns why. Larger ones are refused at publish.
	streamMsgHeadroom = 4 << 10
	// consumerMaxWaiting is the number of pull requests the engine's
	// consumer holds at once (the server's default, stated so that a
	// change of it is seen).
	consumerMaxWaiting = 512
)

// StreamConfig configures the streams and the consumer Setup creates.
// Zero fields take the defaults.
type StreamConfig struct {
	// DuplicateWindow is how long HOSO_EVENTS remembers Nats-Msg-Id
	// headers to drop republished events; default 2 minutes. hoso's own
	// event-id dedupe is permanent; this only spares the work.
	DuplicateWindow time.Duration
	// EventsMaxAge limits how long HOSO_EVENTS keeps events; 0 (the
	// default) keeps them forever. The stream is the log stores are rebuilt
	// from: an age limit makes rebuilding from scratch impossible.
	EventsMaxAge time.Duration
	// OutcomesMaxAge is how long HOSO_OUTCOMES keeps outcomes for senders
	// to catch up; default 30 days.
	OutcomesMaxAge time.Duration
	// DeadLetterMaxAge is how long HOSO_DEADLETTER keeps dead letters;
	// default 30 days.
	DeadLetterMaxAge time.Duration
	// MaxEventsPerDossier is the most messages HOSO_EVENTS keeps on one
	// subject, hoso.events.<source>.<dossier-token>: one source's events
	// about one dossier; default DefaultMaxEventsPerDossier. A publish
	// beyond it is refused ("maximum messages per subject exceeded"), so
	// a source flooding a subject fills no disk; nothing already in the
	// log is ever evicted.
	MaxEventsPerDossier int64
	// DeadLettersPerSource is the most dead letters HOSO_DEADLETTER keeps
	// of one source (its subject hoso.deadletter.<source>): its oldest go
	// first, so one source's garbage cannot push out another's; default
	// DefaultDeadLettersPerSource.
	DeadLettersPerSource int64
	// OutcomesMaxBytes and DeadLetterMaxBytes bound the size of
	// HOSO_OUTCOMES and HOSO_DEADLETTER, oldest messages going first; 0
	// (the default) leaves them to their age limits. JetStream reserves a
	// stream's MaxBytes from its storage at once, so a bound larger than
	// the server's storage fails Setup.
	OutcomesMaxBytes   int64
	DeadLetterMaxBytes int64
	// Replicas is the number of replicas of the streams (and of the
	// consumers, which inherit it); 0 picks DefaultClusterReplicas when
	// the server is part of a cluster and 1 when it runs alone. A count
	// the deployment cannot hold fails Setup with an explanation.
	Replicas int
	// UpdateStreams makes Setup set hoso's configuration on streams that
	// exist with another one. Without it an existing stream keeps its
	// configuration — hoso never lowers an operator's replica count or
	// loosens a limit behind their back — and each difference is handed
	// to OnDifference; a difference hoso cannot run with (subjects,
	// retention, storage) fails Setup.
	UpdateStreams bool
	// OnDifference, if set, receives the differences of each existing
	// stream from hoso's configuration, and whether Setup changed them.
	OnDifference func(stream string, diffs []StreamDifference, updated bool)
	// AckWait is how long the server waits for the consumer to ack a
	// delivered event before delivering it again; default 30 seconds.
	AckWait time.Duration
	// MaxAckPending is how many events may be delivered and not yet acked;
	// default 20000. It must exceed the consumer's prefetch (2×MaxBatch).
	MaxAckPending int
	// Consumer is the durable name of the engine's consumer; default
	// ConsumerName. Each replica has its own (ReplicaConsumer), so that
	// each applies the whole stream.
	Consumer string
}

func (c *StreamConfig) setDefaults() {
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.OutcomesMaxAge <= 0 {
		c.OutcomesMaxAge = DefaultOutcomesMaxAge
	}
	if c.DeadLetterMaxAge <= 0 {
		c.DeadLetterMaxAge = DefaultDeadLetterMaxAge
	}
	if c.MaxEventsPerDossier <= 0 {
		c.MaxEventsPerDossier = DefaultMaxEventsPerDossier
	}
	if c.DeadLettersPerSource <= 0 {
		c.DeadLettersPerSource = DefaultDeadLettersPerSource
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.Consumer == "" {
		c.Consumer = ConsumerName
	}
}

// Setup creates the streams HOSO_EVENTS, HOSO_OUTCOMES and
// HOSO_DEADLETTER, or checks existing ones against cfg (see
// StreamConfig.UpdateStreams: an existing stream's differences are
// reported and kept unless asked), creates or updates the engine's durable
// pull consumer on HOSO_EVENTS (hoso-engine, or cfg.Consumer), and
// returns the consumer. It is idempotent; run it at every start. A
// consumer of that name whose configuration differs from hoso's (somebody
// else's filter, pause or inactivity threshold) is updated back, or
// deleted and recreated if an update cannot restore it.
//
// HOSO_EVENTS captures hoso.events.> with limits retention on file storage
// and no age limit (unless EventsMaxAge is set): it is the log. Messages
// larger than MaxMessageSize plus a small headroom are refused at publish.
// HOSO_OUTCOMES captures hoso.outcomes.> for OutcomesMaxAge with a
// 10-minute duplicate window, which makes the relay's republishing after a
// restart idempotent. HOSO_DEADLETTER captures hoso.deadletter.> the same
// way for DeadLetterMaxAge: the messages hoso could not read or decide,
// as they were published.
//
// The consumer delivers everything from the start of the stream, never
// gives up redelivering (MaxDeliver unlimited: a message is never skipped)
// and acknowledges with AckAll: acking a message acks every earlier one.
// The engine applies events strictly in stream order and commits a whole
// batch in one transaction, so "everything up to here is committed" is
// exactly what one ack of the batch's last message says — one ack per
// batch instead of one per event, and an ack floor that is the applied
// sequence.
func Setup(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Consumer, error) {
	cfg.setDefaults()
	replicas := cfg.replicas(js)
	events := jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "hoso: inbound dossier events (CloudEvents), the log",
		Subjects:    []string{EventsSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.EventsMaxAge,
		Duplicates:  cfg.DuplicateWindow,
		MaxMsgSize:  MaxMessageSize + streamMsgHeadroom,
		Replicas:    replicas,
		// Refuse, never evict: the log keeps every event it took.
		MaxMsgsPerSubject:    cfg.MaxEventsPerDossier,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
	}
	if err := ensureStream(ctx, js, events, &cfg); err != nil {
		return nil, fmt.Errorf("events: set up stream %s: %w", EventsStream, err)
	}
	outcomes := jetstream.StreamConfig{
		Name:        OutcomesStream,
		Description: "hoso: outcomes of the inbound events (accepted, rejected, correction, deadline)",
		Subjects:    []string{OutcomesSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.OutcomesMaxAge,
		MaxBytes:    cfg.OutcomesMaxBytes,
		Duplicates:  outcomesDuplicateWindow,
		Replicas:    replicas,
	}
	if err := ensureStream(ctx, js, outcomes, &cfg); err != nil {
		return nil, fmt.Errorf("events: set up stream %s: %w", OutcomesStream, err)
	}
	deadLetters := jetstream.StreamConfig{
		Name:        DeadLetterStream,
		Description: "hoso: inbound messages hoso could not read or decide, byte for byte, with the reason in headers",
		Subjects:    []string{DeadLetterFilter},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.DeadLetterMaxAge,
		MaxBytes:    cfg.DeadLetterMaxBytes,
		// Per source: one source's garbage pushes out only its own.
		MaxMsgsPerSubject: cfg.DeadLettersPerSource,
		Duplicates:        outcomesDuplicateWindow,
		Replicas:          replicas,
	}
	if err := ensureStream(ctx, js, deadLetters, &cfg); err != nil {
		return nil, fmt.Errorf("events: set up stream %s: %w", DeadLetterStream, err)
	}
	want := jetstream.ConsumerConfig{
		Name:          cfg.Consumer,
		Durable:       cfg.Consumer,
		Description:   "hoso engine: applies the events in stream order",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		MaxWaiting:    consumerMaxWaiting,
		MaxAckPending: cfg.MaxAckPending,
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, EventsStream, want)
	if err != nil {
		return nil, fmt.Errorf("events: set up consumer %s: %w", cfg.Consumer, err)
	}
	if diff := configDiff(want, cons.CachedInfo().Config); diff != "" {
		// Somebody re-created the durable as something an update cannot
		// undo (an ephemeral of the same name, with its inactivity
		// threshold): recreate it. The consumer rewinds it to the store's
		// applied sequence, so its ack floor is not needed.
		if err := js.DeleteConsumer(ctx, EventsStream, cfg.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("events: set up consumer %s (%s): %w", cfg.Consumer, diff, err)
		}
		if cons, err = js.CreateConsumer(ctx, EventsStream, want); err != nil {
			return nil, fmt.Errorf("events: set up consumer %s (%s): %w", cfg.Consumer, diff, err)
		}
		if diff := configDiff(want, cons.CachedInfo().Config); diff != "" {
			return nil, fmt.Errorf("events: set up consumer %s: the server keeps %s", cfg.Consumer, diff)
		}
	}
	return cons, nil
}
