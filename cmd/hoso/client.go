package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// defaultServer is the HTTP address the client commands talk to.
const defaultServer = "http://127.0.0.1:8080"

// addServerFlags registers --server and --token, the flags of every
// command that asks a running server, and returns the client they
// configure once fs is parsed.
func addServerFlags(fs *flag.FlagSet, getenv func(string) string) *api.Client {
	cl := &api.Client{}
	fs.StringVar(&cl.BaseURL, "server", envOr(getenv, "HOSO_SERVER", defaultServer), "hoso HTTP address (env HOSO_SERVER)")
	fs.StringVar(&cl.Token, "token", envOr(getenv, "HOSO_TOKEN", ""), "access token, when the server has an access file (env HOSO_TOKEN; prefer it: flags show in ps)")
	return cl
}

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server *api.Client
	output *string
}

func addClientFlags(fs *flag.FlagSet, getenv func(string) string) clientFlags {
	return clientFlags{
		server: addServerFlags(fs, getenv),
		output: fs.String("o", "table", "output format: table (for people) or json (for scripts)"),
	}
}

func (f clientFlags) validate() error {
	if *f.output != "table" && *f.output != "json" {
		return fmt.Errorf("-o: %q is not table or json", *f.output)
	}
	return nil
}

// pageFlags are the paging flags of a list command.
type pageFlags struct {
	limit  *int
	cursor *string
	all    *bool
}

// addPageFlags registers --limit, --cursor and --all for a list of what
// plural names; note, if any, is said of a page.
func addPageFlags(fs *flag.FlagSet, plural, note string) pageFlags {
	if note != "" {
		note = "; " + note
	}
	return pageFlags{
		limit:  fs.Int("limit", 0, plural+" per page, 1–1000 (default: the server's, 50)"+note),
		cursor: fs.String("cursor", "", "start after this cursor (the one a previous page ended with)"),
		all:    fs.Bool("all", false, "follow the cursors and list every matching one"),
	}
}

// list reads the page of path the query v and the flags select, or with
// --all every page; next is the cursor of the page after the last read.
func (p pageFlags) list(ctx context.Context, cl *api.Client, path string, v url.Values) (items []json.RawMessage, next string, err error) {
	setNonEmpty(v, "cursor", *p.cursor)
	if *p.limit != 0 {
		v.Set("limit", strconv.Itoa(*p.limit))
	}
	return api.List[json.RawMessage](ctx, cl, path, v, *p.all)
}

// setNonEmpty sets the query parameters whose values are not "".
func setNonEmpty(v url.Values, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
}

// writePage writes a list in the shape of the API's pages, for -o json.
func writePage[T any](w io.Writer, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(api.Page[T]{Items: items, NextCursor: next})
}

// moreHint tells people, on stderr, how to read the rest of a list.
func moreHint(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "(more: add --all, or --cursor %s)\n", next)
	}
}

// optionalBool is a boolean flag that may also be left unset: --name
// alone is true, --name=false false.
type optionalBool struct{ value string } // "", "true" or "false"

func (b *optionalBool) String() string { return b.value }

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	b.value = strconv.FormatBool(v)
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dash returns s, or "-" for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// vnTime formats a time in Vietnam's zone for people.
func vnTime(t time.Time) string { return t.In(workflow.Zone).Format("2006-01-02 15:04") }

func optVNTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return vnTime(*t)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
