package events

import (
	"strings"

	"github.com/hoso-vn/hoso/workflow"
)

// Subjects, streams and the consumer of the integration contract.
const (
	// EventsSubject is the filter of every inbound event:
	// hoso.events.<source>.<dossier-token>.
	EventsSubject = "hoso.events.>"

	// OutcomesSubject is the filter of every outbound outcome:
	// hoso.outcomes.<kind>.<source>.<dossier-token>.
	OutcomesSubject = "hoso.outcomes.>"

	// EventsStream is the JetStream stream that keeps every inbound event:
	// the log a store is rebuilt from.
	EventsStream = "HOSO_EVENTS"

	// OutcomesStream is the JetStream stream that keeps the outcomes, so
	// that a sender that was offline catches up.
	OutcomesStream = "HOSO_OUTCOMES"

	// DeadLetterFilter is the filter of every dead letter:
	// hoso.deadletter.<source>.
	DeadLetterFilter = "hoso.deadletter.>"

	// DeadLetterStream is the JetStream stream that keeps the messages hoso
	// could not read or decide, byte for byte, for operators to inspect.
	DeadLetterStream = "HOSO_DEADLETTER"

	// ConsumerName is the durable pull consumer the engine applies the
	// event stream through.
	ConsumerName = "hoso-engine"

	// CheckpointsFilter is the filter of every signed checkpoint:
	// hoso.checkpoints.<replica>, or hoso.checkpoints.hoso for an engine
	// alone.
	CheckpointsFilter = "hoso.checkpoints.>"

	// CheckpointsStream is the JetStream stream that keeps the signed
	// checkpoints of the store, for auditors to verify the store against.
	CheckpointsStream = "HOSO_CHECKPOINTS"
)

// The prefixes of the subjects of events (EventsPrefix<source>.<token>)
// and of outcomes (OutcomesPrefix<kind>.<source>.<token>).
const (
	EventsPrefix   = "hoso.events."
	OutcomesPrefix = "hoso.outcomes."
)

const (
	deadLetterPrefix  = "hoso.deadletter."
	checkpointsPrefix = "hoso.checkpoints."
	// checkpointAlone is the subject token of the checkpoints of an
	// engine that is not one of several replicas.
	checkpointAlone = "hoso"
	// unknownToken stands in an outcome subject for a source or dossier
	// token that is unknown or would not be a valid subject token.
	unknownToken = "_"
)

// CheckpointSubject returns the subject the engine named replica ("" for
// an engine alone) publishes its checkpoints on:
// hoso.checkpoints.<replica>, or hoso.checkpoints.hoso.
func CheckpointSubject(replica string) string {
	if replica == "" {
		replica = checkpointAlone
	}
	return checkpointsPrefix + replica
}

// Subject returns the inbound subject an event about the dossier is
// published on: hoso.events.<source>.<dossier-token>.
func Subject(source, dossierCode string) string {
	return EventsPrefix + source + "." + workflow.DossierToken(dossierCode)
}

// OutcomeSubject returns the subject an outcome is published on:
// hoso.outcomes.<kind>.<source>.<dossier-token>. A source or dossier that
// is empty or would not make a valid subject token (an unreadable message
// has neither) is written "_".
func OutcomeSubject(kind workflow.OutcomeKind, source, dossierCode string) string {
	return OutcomesPrefix + subjectToken(string(kind)) + "." + subjectToken(source) + "." +
		subjectToken(workflow.DossierToken(dossierCode))
}

// subjectToken returns s if it is usable as one NATS subject token, else
// unknownToken.
func subjectToken(s string) string {
	if s == "" || len(s) > 256 || strings.ContainsAny(s, ".*> \t\r\n\f\v") {
		return unknownToken
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return unknownToken
		}
	}
	return s
}

// OutcomeFilter returns the subject filter of every outcome about the
// dossier from the source, of any kind: hoso.outcomes.*.<source>.<token>.
func OutcomeFilter(source, dossierCode string) string {
	return OutcomesPrefix + "*." + subjectToken(source) + "." + subjectToken(workflow.DossierToken(dossierCode))
}
