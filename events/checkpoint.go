package events

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/workflow"
)

// Signed checkpoints anchor the store's tamper evidence outside its file.
// The leader publishes, every interval and once when it stops, the store's
// workflow.Checkpoint signed with an ed25519 key the store's file does not
// hold, to the stream HOSO_CHECKPOINTS; an auditor later checks each
// signature with the public key and compares the checkpoint with the one
// the store recomputes as of the same sequence.

// checkpointsDuplicateWindow is how long HOSO_CHECKPOINTS remembers the
// Nats-Msg-Id of a checkpoint: two leaders around a change of lease, or a
// restarted one, that publish the checkpoint of the same sequence store it
// once. Checkpoints are few, so a long window costs little.
const checkpointsDuplicateWindow = 24 * time.Hour

// SetupCheckpoints creates the stream HOSO_CHECKPOINTS, or checks an
// existing one as Setup does its streams: it captures hoso.checkpoints.>
// with limits retention on file storage, no age limit (a checkpoint is
// worth keeping as long as the store), a 24-hour duplicate window and
// cfg.Replicas replicas. It is idempotent; run it at every start, next to
// Setup.
func SetupCheckpoints(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) error {
	cfg.setDefaults()
	err := ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        CheckpointsStream,
		Description: "hoso: signed checkpoints of the store (applied sequence, state hash, Merkle root of the chain heads, rejections digest)",
		Subjects:    []string{CheckpointsFilter},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  checkpointsDuplicateWindow,
		Replicas:    cfg.replicas(js),
	}, &cfg)
	if err != nil {
		return fmt.Errorf("events: set up stream %s: %w", CheckpointsStream, err)
	}
	return nil
}

// Versions of the checkpoint message and of its signed encoding.
const (
	// CheckpointVersion1 is the format of the engines of store schema 5
	// and older: eight signed lines, no schema.
	CheckpointVersion1 = 1
	// CheckpointVersion is the format SignCheckpoint writes: nine signed
	// lines, the store's schema version among them.
	CheckpointVersion = 2
)

// CheckpointMessage is a signed checkpoint as published on
// hoso.checkpoints.<replica>, in JSON: hashes in lowercase hex, the
// signature in standard base64 with padding.
//
// The signature is ed25519 (RFC 8032, pure, no context) over SignedBytes:
// the UTF-8 text of the lines below, each ended by a line feed (0x0A),
// with no other space. Version 2 signs nine lines:
//
//	hoso-checkpoint-v2
//	seq <seq in decimal>
//	schema <schema in decimal>
//	time <time in RFC 3339, UTC, whole seconds: 2026-12-07T14:00:00Z>
//	state_hash <64 lowercase hex digits>
//	dossiers <dossiers in decimal>
//	heads_root <64 lowercase hex digits>
//	rejections_digest <64 lowercase hex digits>
//	key_id <16 lowercase hex digits>
//
// Version 1 signs eight: the first line is hoso-checkpoint-v1 and there
// is no schema line (nor a schema field in its JSON).
//
// The values are those of the JSON fields of the same names, as hoso
// writes them; a third party verifies a checkpoint with any ed25519
// library by building these bytes from the JSON.
type CheckpointMessage struct {
	Version int `json:"version"` // CheckpointVersion; CheckpointVersion1 in older streams
	// Seq is the stream sequence of HOSO_EVENTS the store had applied.
	Seq uint64 `json:"seq"`
	// Schema is the store schema version the checkpoint was computed
	// under (workflow.Checkpoint.Schema), at least 1 in version 2. It is
	// 0 and absent from the JSON in version 1, which only stores of
	// schema 5 or older signed.
	Schema int `json:"schema,omitempty"`
	// Time is when the checkpoint was taken, UTC, whole seconds.
	Time             time.Time     `json:"time"`
	StateHash        workflow.Hash `json:"state_hash"`
	Dossiers         int           `json:"dossiers"`
	HeadsRoot        workflow.Hash `json:"heads_root"`
	RejectionsDigest workflow.Hash `json:"rejections_digest"`
	// KeyID names the signing key: KeyID of its public key.
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// Errors of CheckpointMessage.Verify.
var (
	// ErrCheckpointKey is returned when a checkpoint names a key other
	// than the one it is verified with.
	ErrCheckpointKey = errors.New("events: checkpoint signed with another key")
	// ErrCheckpointSignature is returned when a checkpoint's signature
	// does not verify with the key it names.
	ErrCheckpointSignature = errors.New("events: bad checkpoint signature")
	// ErrCheckpointVersion is returned for a checkpoint of a version this
	// build does not know, or of version 2 without a schema.
	ErrCheckpointVersion = errors.New("events: unknown checkpoint version")
)

// KeyID returns the short id of a public key: the first 8 bytes of the
// SHA-256 of its 32 bytes, in lowercase hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignCheckpoint returns the message of cp taken at t, of version
// CheckpointVersion, signed with key. cp.Schema must be set (at least 1):
// Verify refuses a version 2 checkpoint without a schema.
func SignCheckpoint(cp workflow.Checkpoint, t time.Time, key ed25519.PrivateKey) CheckpointMessage {
	m := CheckpointMessage{
		Version: CheckpointVersion, Seq: cp.Seq, Schema: cp.Schema, Time: t.UTC().Truncate(time.Second),
		StateHash: cp.StateHash, Dossiers: cp.Dossiers, HeadsRoot: cp.HeadsRoot, RejectionsDigest: cp.RejectionsDigest,
		KeyID: KeyID(key.Public().(ed25519.PublicKey)),
	}
	m.Signature = ed25519.Sign(key, m.SignedBytes())
	return m
}

// SignedBytes returns the bytes the signature covers (see
// CheckpointMessage): those of version 1 when m.Version is 1, of version
// 2 otherwise (Verify refuses other versions first).
func (m *CheckpointMessage) SignedBytes() []byte {
	b := []byte("hoso-checkpoint-v2\n")
	if m.Version == CheckpointVersion1 {
		b = []byte("hoso-checkpoint-v1\n")
	}
	b = strconv.AppendUint(append(b, "seq "...), m.Seq, 10)
	if m.Version != CheckpointVersion1 {
		b = strconv.AppendInt(append(b, "\nschema "...), int64(m.Schema), 10)
	}
	b = m.Time.UTC().AppendFormat(append(b, "\ntime "...), time.RFC3339)
	b = append(append(b, "\nstate_hash "...), m.StateHash.String()...)
	b = strconv.AppendInt(append(b, "\ndossiers "...), int64(m.Dossiers), 10)
	b = append(append(b, "\nheads_root "...), m.HeadsRoot.String()...)
	b = append(append(b, "\nrejections_digest "...), m.RejectionsDigest.String()...)
	b = append(append(b, "\nkey_id "...), m.KeyID...)
	return append(b, '\n')
}

// Verify checks that m is of a known version (1 or 2), names the key pub
// and carries a signature of its content by it. A version 1 checkpoint
// stating a schema is refused as ErrCheckpointSignature: its signature
// does not cover one.
func (m *CheckpointMessage) Verify(pub ed25519.PublicKey) error {
	switch {
	case m.Version != CheckpointVersion1 && m.Version != CheckpointVersion:
		return fmt.Errorf("%w: %d", ErrCheckpointVersion, m.Version)
	case m.Version == CheckpointVersion && m.Schema < 1:
		return fmt.Errorf("%w: version %d with schema %d, want a store schema version of 1 or more", ErrCheckpointVersion, m.Version, m.Schema)
	case m.Version == CheckpointVersion1 && m.Schema != 0:
		return fmt.Errorf("%w: a version 1 checkpoint signs no schema, this one states schema %d", ErrCheckpointSignature, m.Schema)
	case m.KeyID != KeyID(pub):
		return fmt.Errorf("%w: key %q, verifying with %s", ErrCheckpointKey, m.KeyID, KeyID(pub))
	case !ed25519.Verify(pub, m.SignedBytes(), m.Signature):
		return ErrCheckpointSignature
	}
	return nil
}

// Checkpoint returns the checkpoint m signs.
func (m *CheckpointMessage) Checkpoint() workflow.Checkpoint {
	return workflow.Checkpoint{Seq: m.Seq, Schema: m.Schema, StateHash: m.StateHash, Dossiers: m.Dossiers, HeadsRoot: m.HeadsRoot, RejectionsDigest: m.RejectionsDigest}
}

// checkpointMsgID is the Nats-Msg-Id of the checkpoint of a sequence
// under a schema. The schema is part of it: after a rebuild under a new
// schema, the checkpoint of the sequence the old engine signed last is
// another checkpoint, which the stream must not drop as a duplicate (the
// engines of schema 5 and older used "checkpoint-<seq>").
func checkpointMsgID(seq uint64, schema int) string {
	return "checkpoint-" + strconv.FormatUint(seq, 10) + "-schema-" + strconv.Itoa(schema)
}

// CheckpointSource computes the checkpoint of a store at its applied
// sequence (store.DB satisfies it).
type CheckpointSource interface {
	Checkpoint(ctx context.Context) (workflow.Checkpoint, error)
}

// CheckpointConfig configures a CheckpointPublisher.
type CheckpointConfig struct {
	// Key signs the checkpoints; required.
	Key ed25519.PrivateKey
	// Interval is how often Run publishes; required, positive.
	Interval time.Duration
	// Replica names the engine among replicas ("" for an engine alone):
	// checkpoints go to CheckpointSubject(Replica).
	Replica string
	// Now is the clock of the checkpoints' times; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil discards
}

// CheckpointPublisher publishes the signed checkpoints of a store. It is
// meant to run in the leader only (one per deployment), like the
// scheduler; Publish and Run are not meant to run at once.
type CheckpointPublisher struct {
	js      jetstream.JetStream
	src     CheckpointSource
	cfg     CheckpointConfig
	subject string
	log     *slog.Logger
	// last is the checkpoint last published or found in the stream: its
	// sequence and schema (0 for version 1).
	last       uint64
	lastSchema int
}

// NewCheckpointPublisher returns a publisher of src's checkpoints.
func NewCheckpointPublisher(js jetstream.JetStream, src CheckpointSource, cfg CheckpointConfig) *CheckpointPublisher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CheckpointPublisher{js: js, src: src, cfg: cfg, subject: CheckpointSubject(cfg.Replica), log: log}
}

// Run publishes a checkpoint every Interval, and once more when ctx ends
// (within a few seconds), each only when the applied sequence or the
// store's schema changed since the last one published (by this
// publisher, or found last in the stream on its subject when Run starts):
// after a rebuild under a new schema, the first checkpoint is published
// even if no event was applied since the last one. A failure is logged and retried at the
// next interval: a missing checkpoint weakens the evidence, it does not
// stop the engine. It returns nil when ctx ends.
func (p *CheckpointPublisher) Run(ctx context.Context) error {
	if err := p.loadLast(ctx); err != nil {
		p.log.Warn("read the last checkpoint", "err", err)
	}
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := p.Publish(fctx); err != nil {
				p.log.Warn("publish the last checkpoint", "err", err)
			}
			return nil
		case <-t.C:
			if _, err := p.Publish(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("publish checkpoint", "err", err)
			}
		}
	}
}

// loadLast sets last from the last checkpoint on the publisher's subject.
func (p *CheckpointPublisher) loadLast(ctx context.Context) error {
	s, err := p.js.Stream(ctx, CheckpointsStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", CheckpointsStream, err)
	}
	raw, err := s.GetLastMsgForSubject(ctx, p.subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("last message on %s: %w", p.subject, err)
	}
	var m CheckpointMessage
	if err := json.Unmarshal(raw.Data, &m); err != nil {
		return fmt.Errorf("decode checkpoint %d of %s: %w", raw.Sequence, CheckpointsStream, err)
	}
	p.last, p.lastSchema = m.Seq, m.Schema
	return nil
}

// Publish computes the store's checkpoint and, unless nothing is applied
// or it is the sequence and schema of the last one, signs and publishes
// it with the Nats-Msg-Id "checkpoint-<seq>-schema-<schema>". It reports
// whether it published. A checkpoint without a schema is an error.
func (p *CheckpointPublisher) Publish(ctx context.Context) (bool, error) {
	cp, err := p.src.Checkpoint(ctx)
	if err != nil {
		return false, fmt.Errorf("events: checkpoint: %w", err)
	}
	if cp.Seq == 0 || cp.Seq == p.last && cp.Schema == p.lastSchema {
		return false, nil
	}
	if cp.Schema < 1 {
		return false, fmt.Errorf("events: checkpoint %d states schema %d, want the store's schema version", cp.Seq, cp.Schema)
	}
	m := SignCheckpoint(cp, p.cfg.Now(), p.cfg.Key)
	data, err := json.Marshal(&m)
	if err != nil {
		return false, fmt.Errorf("events: encode checkpoint: %w", err)
	}
	msg := &nats.Msg{Subject: p.subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, checkpointMsgID(cp.Seq, cp.Schema))
	if _, err := p.js.PublishMsg(ctx, msg); err != nil {
		return false, fmt.Errorf("events: publish checkpoint %d: %w", cp.Seq, err)
	}
	p.last, p.lastSchema = cp.Seq, cp.Schema
	p.log.Info("checkpoint published", "seq", cp.Seq, "schema", cp.Schema, "dossiers", cp.Dossiers, "heads_root", cp.HeadsRoot.String(), "key_id", m.KeyID)
	return true, nil
}

// ReadCheckpoints reads the checkpoints of HOSO_CHECKPOINTS by stream
// sequence, oldest first (only the last with latest), by message get
// requests only (what the supervisors' user may do), and calls fn with
// each message's stream sequence and the checkpoint, or the error
// decoding it. total is called first with the number of messages to read.
// A sequence the stream no longer holds is skipped.
func ReadCheckpoints(ctx context.Context, js jetstream.JetStream, latest bool, total func(n uint64), fn func(streamSeq uint64, m *CheckpointMessage, err error) error) error {
	s, err := js.Stream(ctx, CheckpointsStream)
	if err != nil {
		return fmt.Errorf("events: stream %s: %w", CheckpointsStream, err)
	}
	st := s.CachedInfo().State
	first, last := st.FirstSeq, st.LastSeq
	if st.Msgs == 0 {
		total(0)
		return nil
	}
	if latest {
		first = last
	}
	total(last - first + 1)
	for seq := first; seq <= last; seq++ {
		raw, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("events: read checkpoint %d of %s: %w", seq, CheckpointsStream, err)
		}
		var m CheckpointMessage
		err = json.Unmarshal(raw.Data, &m)
		if err != nil {
			err = fmt.Errorf("decode checkpoint %d of %s: %w", seq, CheckpointsStream, err)
		}
		if err := fn(seq, &m, err); err != nil {
			return err
		}
	}
	return nil
}

// CheckpointDifference is a field of a signed checkpoint that differs
// from the checkpoint the store recomputes as of its sequence.
type CheckpointDifference struct {
	Field  string // seq, schema, heads_root, dossiers, rejections_digest, state_hash
	Signed string // the value the checkpoint signs
	Store  string // the value the store recomputes
}

// Differences compares m, field by field, with the checkpoint a store
// recomputes as of m.Seq (GET /api/v1/audit/checkpoint): none when the
// store is what was signed. The state hash is compared only when the
// store recomputed it (its applied sequence is the checkpoint's). A
// schema that differs is a difference too, but one that says nothing of
// tampering: compare only checkpoints of the store's schema.
func (m *CheckpointMessage) Differences(got workflow.Checkpoint) []CheckpointDifference {
	var out []CheckpointDifference
	diff := func(field, signed, store string) {
		if signed != store {
			out = append(out, CheckpointDifference{Field: field, Signed: signed, Store: store})
		}
	}
	diff("seq", strconv.FormatUint(m.Seq, 10), strconv.FormatUint(got.Seq, 10))
	diff("schema", strconv.Itoa(m.Schema), strconv.Itoa(got.Schema))
	diff("heads_root", m.HeadsRoot.String(), got.HeadsRoot.String())
	diff("dossiers", strconv.Itoa(m.Dossiers), strconv.Itoa(got.Dossiers))
	diff("rejections_digest", m.RejectionsDigest.String(), got.RejectionsDigest.String())
	if !got.StateHash.IsZero() {
		diff("state_hash", m.StateHash.String(), got.StateHash.String())
	}
	return out
}
