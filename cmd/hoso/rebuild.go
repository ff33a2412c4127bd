package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/store"
)

// rebuildCommand applies the stream HOSO_EVENTS from its first message
// into a fresh store, with an ordered consumer of its own: the engine's
// durable consumer is not touched and no outcome is published.
type rebuildCommand struct{ env }

func (c *rebuildCommand) Run(ctx context.Context, args []string) error {
	rules := engine.DefaultRulesConfig()
	fs := newFlagSet("rebuild", "rebuild [--nats-url URL] [--data-dir DIR] [--replace] [rules flags]", c.stderr)
	natsURL := fs.String("nats-url", envOr(c.getenv, "HOSO_NATS_URL", ""), "NATS server holding the stream HOSO_EVENTS (env HOSO_NATS_URL); default: the embedded server's files under --data-dir, read by a server rebuild starts itself (hoso serve stopped)")
	dataDir := fs.String("data-dir", envOr(c.getenv, "HOSO_DATA_DIR", engine.DefaultConfig().DataDir), "directory of the store (env HOSO_DATA_DIR)")
	out := fs.String("o", "", "store file to write; default DIR/hoso.db.rebuild (replaced if it exists)")
	replace := fs.Bool("replace", false, "put the rebuilt store in place of DIR/hoso.db, keeping the old one as hoso.db.before-rebuild-<time>; hoso serve must be stopped")
	toSeq := fs.Uint64("to-seq", 0, "apply the stream up to this sequence; 0 is its last message when the rebuild starts")
	batch, ev := engine.DefaultConfig().BatchMax, envValues{getenv: c.getenv}
	addBatchMaxFlag(fs, &batch, &ev)
	fs.IntVar(&batch, "batch", batch, "the older name of --batch-max")
	addRulesFlags(fs, &rules, c.getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rebuild: unexpected arguments %q", fs.Args())
	}
	if err := errors.Join(ev.check(fs), engine.CheckBatchMax(batch)); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	cat, err := rules.Load()
	if err != nil {
		return fmt.Errorf("rebuild: load rules: %w", err)
	}
	path := *out
	if path == "" {
		path = filepath.Join(*dataDir, engine.StoreFile+".rebuild")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rebuild: %w", err)
	}

	if *natsURL == "" {
		// The stream of an embedded deployment lives in DIR/nats: serve it
		// on a free loopback port for the time of the rebuild.
		srv, err := events.StartServer(events.ServerConfig{Dir: filepath.Join(*dataDir, engine.NATSDir), Port: -1})
		if err != nil {
			return fmt.Errorf("rebuild: start the embedded NATS server on %s (is hoso serve running? then pass --nats-url): %w", filepath.Join(*dataDir, engine.NATSDir), err)
		}
		defer srv.Shutdown()
		*natsURL = srv.ClientURL()
	}
	nc, err := nats.Connect(*natsURL, nats.Name("hoso-rebuild"))
	if err != nil {
		return fmt.Errorf("rebuild: connect to NATS at %s: %w", events.RedactURL(*natsURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("rebuild: jetstream: %w", err)
	}
	st, err := js.Stream(ctx, events.EventsStream)
	if err != nil {
		return fmt.Errorf("rebuild: stream %s: %w", events.EventsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: stream %s: %w", events.EventsStream, err)
	}
	last := info.State.LastSeq
	if *toSeq > last {
		return fmt.Errorf("rebuild: --to-seq %d is beyond the stream's last message %d", *toSeq, last)
	}
	if *toSeq > 0 {
		last = *toSeq
	}
	if info.State.FirstSeq > 1 {
		fmt.Fprintf(c.stderr, "warning: the stream starts at sequence %d: the messages before it are gone and the store cannot hold them\n", info.State.FirstSeq)
	}

	// The file is fsynced once at the end rather than at each commit: a
	// crash leaves a file to throw away, never a store in use.
	db, err := store.Open(path, store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	start := time.Now()
	n, err := replay(ctx, js, db, last, batch)
	took := time.Since(start)
	if err == nil {
		// The live engine published these outcomes; a serve started on
		// the rebuilt store must not publish them again.
		err = db.MarkPublished(ctx, last)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(path)
	}
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	fi, err := store.Inspect(ctx, path)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	rate := float64(n) / took.Seconds()
	fmt.Fprintf(c.stdout, "rebuilt %s: %d messages in %s (%.0f events/s), applied sequence %d, state hash %s\n",
		path, n, took.Round(time.Millisecond), rate, fi.AppliedSeq, fi.StateHash)
	if *replace {
		live := filepath.Join(*dataDir, engine.StoreFile)
		kept, err := replaceStore(live, path, "before-rebuild", false)
		if err != nil {
			return fmt.Errorf("rebuild: replace %s: %w", live, err)
		}
		if kept != "" {
			fmt.Fprintf(c.stdout, "kept the previous store as %s\n", kept)
		}
		fmt.Fprintf(c.stdout, "replaced %s\n", live)
	}
	return nil
}

// replay applies the stream's messages up to sequence last into db, in
// batches of up to max, and returns how many it applied.
func replay(ctx context.Context, js jetstream.JetStream, db *store.DB, last uint64, max int) (int, error) {
	if last == 0 {
		return 0, nil
	}
	p, err := events.Replay(ctx, js, db, events.ReplayConfig{ToSeq: last, MaxBatch: max})
	return p.Messages, err
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
