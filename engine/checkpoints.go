package engine

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
)

// defaultCheckpointInterval is Config.CheckpointInterval's default.
const defaultCheckpointInterval = 10 * time.Minute

// CheckpointsOff is logged once by an engine that publishes no checkpoint.
const CheckpointsOff = "checkpoints off: no signed checkpoint anchors the store outside its file"

// newCheckpoints returns the publisher of signed checkpoints serve runs
// in its leader, after setting up HOSO_CHECKPOINTS; nil, after logging it
// once, without a key or with a zero interval.
func newCheckpoints(ctx context.Context, cfg Config, js jetstream.JetStream, db *store.DB, streams events.StreamConfig, log *slog.Logger) (*events.CheckpointPublisher, error) {
	switch {
	case cfg.CheckpointKey == "":
		log.Warn(CheckpointsOff, "reason", "no --checkpoint-key")
		return nil, nil
	case cfg.CheckpointInterval == 0:
		log.Warn(CheckpointsOff, "reason", "--checkpoint-interval 0")
		return nil, nil
	}
	key, err := events.LoadCheckpointKey(cfg.CheckpointKey)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := events.SetupCheckpoints(ctx, js, streams); err != nil {
		return nil, err
	}
	log.Info("checkpoints on", "key_id", events.KeyID(key.Public().(ed25519.PublicKey)), "interval", cfg.CheckpointInterval,
		"subject", events.CheckpointSubject(cfg.Replica))
	return events.NewCheckpointPublisher(js, db, events.CheckpointConfig{
		Key: key, Interval: cfg.CheckpointInterval, Replica: cfg.Replica, Logger: log,
	}), nil
}

// checkCheckpointKey is serve --check's line about checkpoints.
func checkCheckpointKey(cfg Config, w io.Writer) error {
	if cfg.CheckpointKey == "" || cfg.CheckpointInterval == 0 {
		fmt.Fprintln(w, "checkpoints: off (give --checkpoint-key and a --checkpoint-interval)")
		return nil
	}
	key, err := events.LoadCheckpointKey(cfg.CheckpointKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "checkpoint key %s: key id %s, a checkpoint every %s\n", cfg.CheckpointKey,
		events.KeyID(key.Public().(ed25519.PublicKey)), cfg.CheckpointInterval)
	return nil
}
