package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// RebuildConfig is what Rebuild rebuilds, from where.
type RebuildConfig struct {
	// DataDir is the data directory of the deployment (Config.DataDir).
	DataDir string
	// NATSURL is the NATS server holding HOSO_EVENTS; "" serves the
	// embedded server's files under DataDir on a free loopback port for
	// the time of the rebuild (the engine must be stopped).
	NATSURL string
	// NATSOptions are added to the connection's (credentials, TLS).
	NATSOptions []nats.Option
	// Out is the store file to write, replaced if it exists; "" is
	// DataDir/hoso.db.rebuild.
	Out string
	// ToSeq is the last stream sequence to apply; 0 is the stream's last
	// message when the rebuild starts.
	ToSeq    uint64
	BatchMax int // Config.BatchMax; 0 is its default
	Rules    RulesConfig
	// OnProgress, if set, is called after each applied batch.
	OnProgress func(events.ReplayProgress)
}

// RebuildResult is what Rebuild made.
type RebuildResult struct {
	Path     string // the store written
	Messages int    // stream messages applied
	Took     time.Duration
	// FirstSeq is the stream's first sequence: above 1, the messages
	// before it are gone and the store cannot hold them.
	FirstSeq   uint64
	AppliedSeq uint64 // the store's applied sequence
	StateHash  workflow.Hash
}

// Rebuild applies the stream HOSO_EVENTS into a fresh store file
// (events.Replay): the engine's durable consumer is not touched and no
// outcome is published; the outcomes of the replayed events are marked
// published, so that an engine started on the rebuilt store does not
// publish them again. The file is synced once, at the end: a crash leaves
// a file to throw away, never a store in use.
//
// The store starts with the calendar the stream started with: the
// calendar files' with each year a calendar event of the stream replaced
// as it was before the first such event (events.CalendarStart), so that
// every event is decided with the calendar the live engine decided it
// with, and the rebuilt store's state hash is the live one's.
func Rebuild(ctx context.Context, cfg RebuildConfig) (RebuildResult, error) {
	res := RebuildResult{Path: cfg.Out}
	if cfg.BatchMax == 0 {
		cfg.BatchMax = events.DefaultMaxBatch
	}
	if err := CheckBatchMax(cfg.BatchMax); err != nil {
		return res, err
	}
	cat, err := cfg.Rules.Load()
	if err != nil {
		return res, fmt.Errorf("load rules: %w", err)
	}
	if res.Path == "" {
		res.Path = filepath.Join(cfg.DataDir, StoreFile+".rebuild")
	}
	if err := os.MkdirAll(filepath.Dir(res.Path), 0o750); err != nil {
		return res, err
	}
	if err := os.Remove(res.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	url := cfg.NATSURL
	if url == "" {
		dir := filepath.Join(cfg.DataDir, NATSDir)
		srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: dir, Port: -1})
		if err != nil {
			return res, fmt.Errorf("start the embedded NATS server on %s (is hoso serve running? then give its NATS URL): %w", dir, err)
		}
		defer srv.Shutdown()
		url = srv.ClientURL()
	}
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name("hoso-rebuild")}, cfg.NATSOptions...)...)
	if err != nil {
		return res, fmt.Errorf("connect to NATS at %s: %w", events.RedactURL(url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return res, fmt.Errorf("jetstream: %w", err)
	}
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		return res, fmt.Errorf("stream %s: %w", events.EventsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return res, fmt.Errorf("stream %s: %w", events.EventsStream, err)
	}
	res.FirstSeq = info.State.FirstSeq
	last := info.State.LastSeq
	if cfg.ToSeq > last {
		return res, fmt.Errorf("sequence %d is beyond the stream's last message %d", cfg.ToSeq, last)
	}
	if cfg.ToSeq > 0 {
		last = cfg.ToSeq
	}

	startCal, err := streamCalendar(ctx, js, cat.Calendar())
	if err != nil {
		return res, err
	}
	db, err := store.Open(res.Path, store.Options{Catalog: cat.WithCalendar(startCal), NoSync: true})
	if err != nil {
		return res, err
	}
	start := time.Now()
	if last > 0 {
		var p events.ReplayProgress
		p, err = events.Replay(ctx, js, db, events.ReplayConfig{ToSeq: last, MaxBatch: cfg.BatchMax, OnBatch: cfg.OnProgress})
		res.Messages = p.Messages
	}
	res.Took = time.Since(start)
	if err == nil {
		err = db.MarkPublished(ctx, last)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = store.SyncFile(res.Path)
	}
	if err != nil {
		return res, err
	}
	fi, err := store.Inspect(ctx, res.Path)
	if err != nil {
		return res, err
	}
	res.AppliedSeq, res.StateHash = fi.AppliedSeq, fi.StateHash
	return res, nil
}
