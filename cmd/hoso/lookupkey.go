package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/workflow"
)

// readLookupKey reads the deployment's lookup key from its file, as serve
// does (engine.ReadLookupKey: hex digits on one line, mode 0600).
func readLookupKey(name string) ([]byte, error) { return engine.ReadLookupKey(name) }

// publicCommand manages the public surface's lookup key.
type publicCommand struct{ env }

func (c *publicCommand) Run(ctx context.Context, args []string) error {
	out, err := keygenArgs("public", "the new lookup key (hex on one line, mode 0600)", args, c.stderr)
	if err != nil {
		return err
	}
	if err := writeLookupKey(out); err != nil {
		return fmt.Errorf("public keygen: %w", err)
	}
	fmt.Fprintf(c.stderr, "lookup key written to %s: give it to hoso serve --public-lookup-key, and the same file, by a channel only the vendor reads, to the one-stop-shop that makes the dossiers' data.lookup; keep it off the data directory and its backups\n", out)
	return nil
}

// writeLookupKey writes a new lookup key of workflow.MinLookupKey random
// bytes to path, as hex on one line, mode 0600; it never replaces a file.
func writeLookupKey(path string) error {
	var key [workflow.MinLookupKey]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: a new key would orphan every digest made with the old one; remove it first if that is meant", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(key[:]) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
