package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Replace puts the store file src in place of the store file live, which
// no process may hold (ErrLocked), and keeps the file it replaces as
// live.<what>-<UTC time>, returning that name ("" when there was none).
// It copies src when copy is set (src is a backup the operator keeps)
// and renames it otherwise; the rename is synced to the directory. `hoso
// restore` and `hoso rebuild --replace` use it.
func Replace(live, src, what string, copy bool) (kept string, err error) {
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
	return kept, SyncDir(dir)
}

// checkUnlocked returns ErrLocked when a process (a running
// `hoso serve`) holds the store file. A missing or unreadable file is no
// obstacle: it is about to be replaced.
func checkUnlocked(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%s: %w; stop hoso serve first", path, ErrLocked)
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

// SyncDir makes a rename in dir durable (a backup put in place, a store
// replaced).
func SyncDir(dir string) error {
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

// SyncFile fsyncs the file at path: a store written without a sync per
// commit (Options.NoSync), once it is closed.
func SyncFile(path string) error {
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
