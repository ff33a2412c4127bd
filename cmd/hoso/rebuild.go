package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

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
	nf := addNATSFlags(fs, c.getenv, "", "NATS server holding the stream HOSO_EVENTS, as hoso's own user where it has users; default: the embedded server's files under --data-dir, read by a server rebuild starts itself (hoso serve stopped)")
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
	pr := progress{w: c.stderr, interval: progressEvery, line: rebuildLine}
	res, err := engine.Rebuild(ctx, engine.RebuildConfig{DataDir: *dataDir, NATSURL: nf.url, NATSOptions: nf.options("hoso-rebuild", ""), Out: *out, ToSeq: *toSeq,
		BatchMax: batch, Rules: rules, OnProgress: func(p events.ReplayProgress) {
			pr.report(int(p.Seq-p.From+1), int(p.Last-p.From+1), p.Seq >= p.Last)
		}})
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if res.FirstSeq > 1 {
		fmt.Fprintf(c.stderr, "warning: the stream starts at sequence %d: the messages before it are gone and the store cannot hold them\n", res.FirstSeq)
	}
	fmt.Fprintf(c.stdout, "rebuilt %s: %d messages in %s (%.0f events/s), applied sequence %d, state hash %s\n",
		res.Path, res.Messages, res.Took.Round(time.Millisecond), float64(res.Messages)/res.Took.Seconds(), res.AppliedSeq, res.StateHash)
	path := res.Path
	if *replace {
		live := filepath.Join(*dataDir, engine.StoreFile)
		kept, err := store.Replace(live, path, "before-rebuild", false)
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

// rebuildLine is a progress line of a rebuild: stream sequences covered
// of those to apply.
func rebuildLine(done, total int, left time.Duration) string {
	line := fmt.Sprintf("rebuild: %d/%d stream sequences (%d%%)", done, total, percent(done, total))
	if left > 0 {
		line += fmt.Sprintf(", about %s left", left)
	}
	return line
}
