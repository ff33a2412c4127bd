package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
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
	entries, indent, err := accessEntries(old, *file)
	if err != nil {
		return fmt.Errorf("access add: %w", err)
	}
	for _, e := range entries {
		if e.name == *name {
			return fmt.Errorf("access add: %s already has a user %q (line %d); remove it first to give it a new token", *file, *name, e.first)
		}
	}
	tok, hash, err := web.NewToken()
	if err != nil {
		return err
	}
	pad := strings.Repeat(" ", indent)
	entry := fmt.Sprintf("%s- name: %s\n%s  token_sha256: %s\n%s  role: %s\n", pad, yamlScalar(*name), pad, hash, pad, yamlScalar(*role))
	if *agencies != "" {
		var list []string
		for _, a := range strings.Split(*agencies, ",") {
			list = append(list, yamlScalar(strings.TrimSpace(a)))
		}
		entry += fmt.Sprintf("%s  agencies: [%s]\n", pad, strings.Join(list, ", "))
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	if err := replaceAccessFile(*file, append(old, entry...)); err != nil {
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
	entries, _, err := accessEntries(old, *file)
	if err != nil {
		return fmt.Errorf("access remove: %w", err)
	}
	i := slices.IndexFunc(entries, func(e accessEntry) bool { return e.name == name })
	if i < 0 {
		return fmt.Errorf("access remove: %s has no user %q", *file, name)
	}
	if len(entries) == 1 {
		return fmt.Errorf("access remove: %q is the only user of %s; an access file needs one (add another first)", name, *file)
	}
	lines := strings.SplitAfter(string(old), "\n")
	e := entries[i]
	kept := append(slices.Clone(lines[:e.first-1]), lines[e.last:]...)
	if err := replaceAccessFile(*file, []byte(strings.Join(kept, ""))); err != nil {
		return fmt.Errorf("access remove: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "removed %s from %s. Send hoso serve SIGHUP to apply: its token is refused from then on.\n", name, *file)
	return err
}

// accessEntry is a user of an access file: its name and the lines (from
// 1) its entry spans.
type accessEntry struct {
	name        string
	first, last int
}

// accessEntries checks data as an access file and returns its users'
// entries, and the column their "- " starts at.
func accessEntries(data []byte, path string) ([]accessEntry, int, error) {
	if strings.TrimSpace(string(data)) != "users:" { // a new file has no users yet
		if _, err := web.ParseAccess(bytes.NewReader(data), path); err != nil {
			return nil, 0, err
		}
	}
	root, err := yamlfile.Decode(data, path)
	if err != nil {
		return nil, 0, err
	}
	indent := 2
	var entries []accessEntry
	for _, users := range yamlfile.Values(root, "users") {
		if users.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range users.Content {
			e := accessEntry{first: item.Line, last: lastLine(item)}
			if name := yamlfile.Value(item, "name"); name != nil {
				e.name = name.Value
			}
			indent = max(item.Column-3, 0) // item.Column is the first key's, after "- "
			entries = append(entries, e)
		}
	}
	return entries, indent, nil
}

// lastLine returns the last line a node or its children are on.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

// yamlScalar quotes s for YAML when it is not a plain scalar.
func yamlScalar(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// replaceAccessFile checks data as an access file and puts it in place of
// path at once (a temporary file renamed over it), keeping path's mode.
func replaceAccessFile(path string, data []byte) error {
	if _, err := web.ParseAccess(bytes.NewReader(data), path); err != nil {
		return fmt.Errorf("the result would not load, nothing written: %w", err)
	}
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
