package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/workflow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a dead letter. The payload is the original message's, byte
// for byte; its own headers are kept, but for those of NATS (Nats-…),
// which would steer the dead-letter stream.
const (
	// HeaderReason is the rejection's reason code (malformed, token_mismatch
	// or internal_error).
	HeaderReason = "Hoso-Reason"
	// HeaderDetail is the rejection's English detail, cut to 1,000 bytes.
	HeaderDetail = "Hoso-Detail"
	// HeaderStreamSeq is the original message's sequence in HOSO_EVENTS.
	HeaderStreamSeq = "Hoso-Stream-Seq"
	// HeaderSubject is the subject the original message was published on.
	HeaderSubject = "Hoso-Subject"
	// HeaderPublished is when the original message reached HOSO_EVENTS
	// (RFC 3339, UTC).
	HeaderPublished = "Hoso-Published"
	// HeaderPayloadMissing is "true" when HOSO_EVENTS no longer held the
	// original message (an age limit, a purge): the dead letter is empty.
	HeaderPayloadMissing = "Hoso-Payload-Missing"

	maxDetailHeader = 1000
)

// DeadLettered reports whether the outcome's message also goes to the
// dead-letter subject: a rejection hoso could not read (malformed,
// token_mismatch), could not place (an event type or procedure the loaded
// definitions do not know: unknown_action, unknown_procedure — a matter for
// the operator's configuration as much as for the sender) or could not
// decide (internal_error). A rejection of a readable event for a business
// reason (invalid_transition, duplicate, …) is answered by its outcome
// alone: the sender can act on it, an operator need not.
func DeadLettered(o *workflow.Outcome) bool {
	if o.Kind != workflow.OutcomeRejected {
		return false
	}
	switch o.Reason {
	case workflow.ReasonMalformed, workflow.ReasonTokenMismatch, workflow.ReasonInternal,
		workflow.ReasonUnknownAction, workflow.ReasonUnknownProcedure:
		return true
	}
	return false
}

// DeadLetterSubject returns the subject dead letters from the source are
// published on: hoso.deadletter.<source>, "_" when the source is unknown
// or not a valid source token (^[a-z0-9_-]{1,64}$).
func DeadLetterSubject(source string) string {
	if !isSourceToken(source) {
		source = unknownToken
	}
	return deadLetterPrefix + source
}

// DeadLetterMsgID returns the Nats-Msg-Id of the dead letter of the
// message at seq in HOSO_EVENTS, so that a relay retried after a crash is
// deduplicated by HOSO_DEADLETTER.
func DeadLetterMsgID(seq uint64) string { return "hoso-deadletter-" + strconv.FormatUint(seq, 10) }

// deadLetter builds the dead letter of the outcome's message, reading the
// original from HOSO_EVENTS by its sequence.
func (r *Relay) deadLetter(ctx context.Context, o *workflow.Outcome) (*nats.Msg, error) {
	msg := &nats.Msg{Subject: DeadLetterSubject(o.Source), Header: nats.Header{}}
	s, err := r.js.Stream(ctx, EventsStream)
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: stream %s: %w", o.Seq, EventsStream, err)
	}
	orig, err := s.GetMsg(ctx, o.Seq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		msg.Header.Set(HeaderPayloadMissing, "true")
	case err != nil:
		return nil, fmt.Errorf("dead letter %d: read the original: %w", o.Seq, err)
	default:
		for k, vs := range orig.Header {
			if !strings.HasPrefix(strings.ToLower(k), "nats-") {
				msg.Header[k] = append([]string(nil), vs...)
			}
		}
		msg.Data = orig.Data
		msg.Header.Set(HeaderSubject, orig.Subject)
		msg.Header.Set(HeaderPublished, orig.Time.UTC().Format(time.RFC3339Nano))
	}
	msg.Header.Set(jetstream.MsgIDHeader, DeadLetterMsgID(o.Seq))
	msg.Header.Set(HeaderReason, string(o.Reason))
	msg.Header.Set(HeaderStreamSeq, strconv.FormatUint(o.Seq, 10))
	if d := headerText(o.MessageEN); d != "" {
		msg.Header.Set(HeaderDetail, d)
	}
	return msg, nil
}

// headerText makes s a header value: one line of at most maxDetailHeader
// bytes.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxDetailHeader {
		cut := maxDetailHeader
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
