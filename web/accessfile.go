package web

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

// Editing an access file (`hoso access add` and `remove`): the edits keep
// the rest of the file as it was, comments and order included, and
// return a result only when it loads.

// AddAccessUser returns the access file data (of path, for messages; an
// empty or new file is "users:\n") with a user appended: its name, role,
// the agencies it is limited to (none: every agency) and the SHA-256 of
// its token (NewToken). A name already in the file is refused.
func AddAccessUser(data []byte, path, name, role string, agencies []string, tokenHash string) ([]byte, error) {
	entries, indent, err := accessEntries(data, path)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.name == name {
			return nil, fmt.Errorf("%s already has a user %q (line %d); remove it first to give it a new token", path, name, e.first)
		}
	}
	pad := strings.Repeat(" ", indent)
	entry := fmt.Sprintf("%s- name: %s\n%s  token_sha256: %s\n%s  role: %s\n", pad, yamlScalar(name), pad, tokenHash, pad, yamlScalar(role))
	if len(agencies) > 0 {
		var list []string
		for _, a := range agencies {
			list = append(list, yamlScalar(a))
		}
		entry += fmt.Sprintf("%s  agencies: [%s]\n", pad, strings.Join(list, ", "))
	}
	out := slices.Clone(data)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return checkedAccess(append(out, entry...), path)
}

// RemoveAccessUser returns the access file data without the entry of the
// user name. The last user is not removed: an access file needs one.
func RemoveAccessUser(data []byte, path, name string) ([]byte, error) {
	entries, _, err := accessEntries(data, path)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(entries, func(e accessEntry) bool { return e.name == name })
	if i < 0 {
		return nil, fmt.Errorf("%s has no user %q", path, name)
	}
	if len(entries) == 1 {
		return nil, fmt.Errorf("%q is the only user of %s; an access file needs one (add another first)", name, path)
	}
	lines := strings.SplitAfter(string(data), "\n")
	e := entries[i]
	kept := append(slices.Clone(lines[:e.first-1]), lines[e.last:]...)
	return checkedAccess([]byte(strings.Join(kept, "")), path)
}

// checkedAccess returns data if it loads as an access file.
func checkedAccess(data []byte, path string) ([]byte, error) {
	if _, err := ParseAccess(bytes.NewReader(data), path); err != nil {
		return nil, fmt.Errorf("the result would not load: %w", err)
	}
	return data, nil
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
		if _, err := ParseAccess(bytes.NewReader(data), path); err != nil {
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
