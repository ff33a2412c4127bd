package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cl.base, "/")+"/api/v1/admin/backup", nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	resp, err := cl.do(req)
	if err != nil {
		return fmt.Errorf("backup: ask hoso at %s (is `hoso serve` running? see --server): %w", cl.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("backup: %w", &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message})
	}
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
	if err := syncDir(filepath.Dir(path)); err != nil {
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
	kept, err := replaceStore(live, pos[0], "before-restore", true)
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

// replaceStore puts src in place of the store file live, which no process
// may hold, and keeps the file it replaces as live.<what>-<UTC time>,
// returning that name ("" when there was none). It copies src when copy
// is set (src is a backup the operator keeps) and renames it otherwise.
func replaceStore(live, src, what string, copy bool) (kept string, err error) {
	if err := checkUnlocked(live); err != nil {
		return "", err
	}
	dir := filepath.Dir(live)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	next := src
	if copy {
		next = live + ".restoring"
		if err := copyFile(next, src); err != nil {
			os.Remove(next)
			return "", fmt.Errorf("copy %s: %w", src, err)
		}
	}
	if _, err := os.Stat(live); err == nil {
		kept = live + "." + what + "-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(live, kept); err != nil {
			return "", err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(next, live); err != nil {
		return kept, err
	}
	return kept, syncDir(dir)
}

// checkUnlocked returns store.ErrLocked when a process (a running
// `hoso serve`) holds the store file. A missing or unreadable file is no
// obstacle: it is about to be replaced.
func checkUnlocked(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: store.DefaultTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%s: %w; stop hoso serve first", path, store.ErrLocked)
	}
	if err == nil {
		b.Close()
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
