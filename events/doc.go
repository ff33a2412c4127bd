// Package events is hoso's NATS adapter: the CloudEvent codec of the
// integration contract, the JetStream streams and consumer, the batch
// consumer that feeds the store, and the relay that publishes outcomes
// from the store's outbox. The embedded NATS server, its users and their
// permissions are package natsserver's, so that a vendor's program that
// uses the codec (package client) does not compile a NATS server.
//
// # Data flow
//
// One-stop-shop software publishes CloudEvents on
// hoso.events.<source>.<dossier-token> (Subject); the stream HOSO_EVENTS
// keeps them all, forever by default: it is the log (Setup). A Consumer
// reads the durable consumer hoso-engine in stream order, decodes each
// message with its headers (DecodeMsg: the contract's structured mode, or
// the CloudEvents binary content mode) and hands batches to an Applier, which commits each
// batch in one transaction together with the outcomes to publish. A Relay
// then publishes those outcomes from the Outbox on
// hoso.outcomes.<kind>.<source>.<dossier-token> (OutcomeSubject), captured
// by HOSO_OUTCOMES. In the leader, a CheckpointPublisher publishes the
// store's checkpoint (workflow.Checkpoint), signed with an ed25519 key the
// store file does not hold (CheckpointMessage), on
// hoso.checkpoints.<replica> (CheckpointSubject) every interval and at
// shutdown, with Nats-Msg-Id checkpoint-<seq>-schema-<schema>: HOSO_CHECKPOINTS
// (SetupCheckpoints) keeps them for auditors (ReadCheckpoints).
//
// Replay applies the stream into a store without the engine's durable
// consumer and without publishing anything (hoso rebuild), under the same
// rules of order as the Consumer.
//
// # Invariants
//
//   - Ack after commit. A batch is acked (one AckAll ack of its last
//     message) only after Apply returned without error. A crash between the
//     two redelivers the batch, and the Applier skips what it has applied.
//     When Apply fails the same batch is retried, with backoff, until it
//     succeeds: messages are never dropped, skipped or reordered.
//   - Gapless order. Apply receives strictly increasing stream sequences
//     with no message missing. The consumer rewinds the durable consumer at
//     every start (to ConsumerConfig.StartSeq, else to its ack floor) and
//     whenever a delivery was lost on the way. It passes over a sequence
//     only once the stream says the message is gone (deleted, aged out);
//     a delivery past a message the stream holds stops the session.
//   - The engine defends its consumer. The durable's configuration on the
//     server is compared with the one Setup gave it at every start and
//     every ConsumerConfig.CheckInterval; a change (a filter, a pause, an
//     inactivity threshold, a deletion) is logged, reported (OnDrift),
//     makes Ready false and is undone before consuming goes on from the
//     next sequence to apply. Setup itself recreates a durable that an
//     update cannot restore.
//   - Nothing blocks the stream. Decode never fails: an unreadable message
//     becomes an envelope with a Rejection (reason malformed or
//     token_mismatch) and is applied and acked like any other. Its bounds
//     (sizes, times) are relative to the stream timestamp, never the wall
//     clock.
//   - Dead letters. The relay also publishes the original of every message
//     rejected as unreadable, unplaceable or undecidable (DeadLettered) on
//     hoso.deadletter.<source> (DeadLetterSubject), captured by
//     HOSO_DEADLETTER, with Nats-Msg-Id = DeadLetterMsgID(seq); its outcome
//     is marked published only once both are stored.
//   - Outbox. Outcomes are written with the state and published after the
//     commit with Nats-Msg-Id = Outcome.MsgID(). The relay marks them
//     published only after the stream acknowledged them; a restart
//     republishes the unmarked ones and the stream's duplicate window drops
//     the copies. Enqueue is only a hint that spares an outbox read.
//   - Determinism. DecodeMsg is a pure function of the message, headers
//     included: the same message gives the same envelope, rejection detail
//     included, so a store rebuilt from the stream (Replay) or a replica
//     is the same store. The Consumer, Replay and CalendarStart all decode
//     with it.
//
// # Durability
//
// The embedded server (natsserver.StartServer) flushes JetStream files to disk every
// ServerConfig.SyncInterval (2 minutes by default): a process crash loses
// nothing acknowledged, but an OS crash or power loss may lose events whose
// publish was acknowledged within the interval. ServerConfig.SyncAlways
// fsyncs every write and closes that window at a large cost in throughput.
// A clustered stream with 3 replicas is the answer beyond one machine:
// Setup gives every stream three (StreamConfig.Replicas) when the server
// is part of a cluster, and never lowers an existing stream's count or
// loosens its limits unless asked (StreamConfig.UpdateStreams).
//
// # Concurrency and lifecycle
//
// Consumer.Run and Relay.Run each block until their context ends and must
// not be called concurrently with themselves; Consumer.Ready,
// Relay.Enqueue and Relay.Backlog are safe from any goroutine. Decode,
// DecodeMsg, Encode and the subject functions are safe for concurrent use. Stop in
// this order: the consumer, then the relay, then drain the NATS
// connection, then shut the embedded server down, then close the store.
//
// # Access control
//
// natsserver.ServerConfig.Users gives the embedded server one user per
// source system, limited by natsserver.SourcePermissions to its own event
// subjects, its own outcomes (consumer OutcomeConsumer(source)) and its
// own inboxes (InboxPrefix), and a read-only user for supervisors
// (natsserver.SupervisorPermissions); hoso connects as EngineUser. configs/nats/
// has the same for an external server. The supervisors create no
// consumer: a permission sees only a request's subject, and the older
// create subject names the consumer in its body.
//
// What permissions cannot stop, the engine watches: the Consumer defends
// its own durable (see the invariants), a Guard removes push consumers and
// source consumers filtered beyond their source as soon as they appear,
// and a natsserver.Quota withdraws a source's right to publish events for
// the rest of the hour once it published more than its quota
// (natsserver.Server.BlockSource). natsserver.Server.KeepJetStream restarts the embedded server when a stream hit a
// write error (a full disk) and the disk has room again, so that it
// takes events again without a restart of the process.
//
// The consumer needs NATS server 2.14 or later (the consumer reset API);
// the embedded server is recent enough.
package events
