package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/web"
)

// backupCommand asks a running `hoso serve` for a hot copy of its store.
// The store has one writer process, so the copy is taken by the server,
// from one read transaction, while it goes on applying events.
type backupCommand struct{ env }

func (c *backupCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("backup", "backup [--server URL] [-o FILE]", c.stderr)
	cl := addServerFlags(fs, c.getenv)
	out := fs.String("o", "", "file to write; default hoso-<UTC time>.db in the current directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected arguments %q", fs.Args())
	}
	resp, err := cl.Open(ctx, http.MethodGet, "/api/v1/admin/backup", "", "", nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	wantSeq, _ := strconv.ParseUint(resp.Header.Get(web.HeaderAppliedSeq), 10, 64)
	wantHash := resp.Header.Get(web.HeaderStateHash)
	path := *out
	if path == "" {
		path = "hoso-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	n, err := io.Copy(tmp, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("copy cut short: %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: download: %w", err)
	}
	fi, err := store.Inspect(ctx, tmp.Name())
	if err != nil {
		return fmt.Errorf("backup: the copy is unusable: %w", err)
	}
	if fi.AppliedSeq != wantSeq || fi.StateHash.String() != wantHash {
		return fmt.Errorf("backup: the copy has applied sequence %d and state hash %s, the server announced %d and %s", fi.AppliedSeq, fi.StateHash, wantSeq, wantHash)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := store.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(c.stdout, "backup %s: %d bytes, applied sequence %d, state hash %s\n", path, fi.Size, fi.AppliedSeq, fi.StateHash)
	return nil
}

// restoreCommand puts a backup in place of the store, offline.
type restoreCommand struct{ env }

func (c *restoreCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("restore", "restore FILE [--data-dir DIR]", c.stderr)
	dataDir := fs.String("data-dir", envOr(c.getenv, "HOSO_DATA_DIR", engine.DefaultConfig().DataDir), "directory of the store (env HOSO_DATA_DIR)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("restore: want one backup FILE")
	}
	fi, err := store.Inspect(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("restore: the backup is unusable: %w", err)
	}
	live := filepath.Join(*dataDir, engine.StoreFile)
	kept, err := store.Replace(live, pos[0], "before-restore", true)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if kept != "" {
		fmt.Fprintf(c.stdout, "kept the previous store as %s\n", kept)
	}
	fmt.Fprintf(c.stdout, "restored %s to %s: applied sequence %d, state hash %s\n", pos[0], live, fi.AppliedSeq, fi.StateHash)
	fmt.Fprintf(c.stdout, "hoso serve resumes from stream sequence %d; the stream HOSO_EVENTS must still hold it\n", fi.AppliedSeq+1)
	return nil
}
