package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoso-vn/hoso/web"
)

// accessCommand manages the HTTP access file (hoso serve --access).
type accessCommand struct{ env }

const accessUsage = `Usage:
  hoso access hash-token
  hoso access add --file FILE --name NAME --role ROLE [--agencies A,B]
  hoso access remove --file FILE NAME

hash-token prints a new random token, to give to its user, and its SHA-256,
to write in the access file as token_sha256. add does both: it appends the
user to the access file (created if missing) and prints the token. remove
takes a user out. The token is printed once and stored nowhere. add and
remove leave the rest of the file as it was, check that the result loads,
and replace the file at once; send hoso serve SIGHUP (systemctl reload hoso)
to apply it.
`

func (c *accessCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, accessUsage)
		return fmt.Errorf("access: want a subcommand: hash-token, add or remove")
	}
	switch args[0] {
	case "hash-token":
		return c.hashToken(args[1:])
	case "add":
		return c.add(args[1:])
	case "remove":
		return c.remove(args[1:])
	}
	fmt.Fprint(c.stderr, accessUsage)
	return fmt.Errorf("access: unknown subcommand %q: want hash-token, add or remove", args[0])
}

func (c *accessCommand) hashToken(args []string) error {
	fs := newFlagSet("access hash-token", "access hash-token", c.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, hash, err := web.NewToken()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "token:        %s\ntoken_sha256: %s\n", tok, hash)
	return err
}

// add appends a user with a new token to the access file.
func (c *accessCommand) add(args []string) error {
	fs := newFlagSet("access add", "access add --file FILE --name NAME --role ROLE [--agencies A,B]", c.stderr)
	file := fs.String("file", envOr(c.getenv, "HOSO_ACCESS", ""), "the access file (env HOSO_ACCESS); created if missing")
	name := fs.String("name", "", "the user's name, unique in the file")
	role := fs.String("role", "", "viewer, auditor or admin")
	agencies := fs.String("agencies", "", "comma-separated agency codes the user is limited to; empty: every agency")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *name == "" || *role == "" || fs.NArg() > 0 {
		return fmt.Errorf("access add: give --file, --name and --role, and nothing else")
	}
	old, err := os.ReadFile(*file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		old = []byte("users:\n")
	case err != nil:
		return fmt.Errorf("access add: %w", err)
	}
	tok, hash, err := web.NewToken()
	if err != nil {
		return err
	}
	var list []string
	if *agencies != "" {
		for _, a := range strings.Split(*agencies, ",") {
			list = append(list, strings.TrimSpace(a))
		}
	}
	data, err := web.AddAccessUser(old, *file, *name, *role, list, hash)
	if err == nil {
		err = replaceFile(*file, data)
	}
	if err != nil {
		return fmt.Errorf("access add: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "added %s (%s) to %s\ntoken: %s\nGive the token to the user; it is printed once and stored nowhere. Send hoso serve SIGHUP to apply.\n", *name, *role, *file, tok)
	return err
}

// remove takes a user out of the access file.
func (c *accessCommand) remove(args []string) error {
	fs := newFlagSet("access remove", "access remove --file FILE NAME", c.stderr)
	file := fs.String("file", envOr(c.getenv, "HOSO_ACCESS", ""), "the access file (env HOSO_ACCESS)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *file == "" || len(pos) != 1 {
		return fmt.Errorf("access remove: give --file and one user's name")
	}
	name := pos[0]
	old, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("access remove: %w", err)
	}
	data, err := web.RemoveAccessUser(old, *file, name)
	if err == nil {
		err = replaceFile(*file, data)
	}
	if err != nil {
		return fmt.Errorf("access remove: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "removed %s from %s. Send hoso serve SIGHUP to apply: its token is refused from then on.\n", name, *file)
	return err
}

// replaceFile puts data in place of path at once (a temporary file
// renamed over it, synced first), keeping path's mode (0600 for a new
// file).
func replaceFile(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
