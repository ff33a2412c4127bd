package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the number of bytes Read reads at most: 4 MiB. What follows
// is not read.
const MaxSize = 4 << 20

// ErrEmpty is returned, wrapped with the file's name, by Read and Decode
// when the file holds no YAML document (nothing, or only comments).
var ErrEmpty = errors.New("yamlfile: no YAML document")

// Read reads at most MaxSize bytes of r and decodes them as Decode does.
func Read(r io.Reader, name string) (*yaml.Node, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return Decode(data, name)
}

// Decode decodes data, the contents of the file name, as a YAML document
// and returns its root node. Its errors start with name; a file without
// a document gives one that wraps ErrEmpty.
func Decode(data []byte, name string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrEmpty
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc.Content[0], nil
}

// Problem is one thing wrong in a file, at a line.
type Problem struct {
	Line int // from 1; 0 for the file as a whole
	Msg  string
}

// Problems collects the problems found in one file, in the order they
// are found. The zero value with File set is ready to use.
type Problems struct {
	File string    // the file's name, which starts every message of Err
	All  []Problem // the problems so far
}

// Addf adds the problem at line, its message formatted as fmt.Sprintf
// does.
func (p *Problems) Addf(line int, format string, args ...any) {
	p.All = append(p.All, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Err returns every problem as "file:line: message" ("file: message" at
// line 0), joined with errors.Join, or nil when there is none.
func (p *Problems) Err() error {
	errs := make([]error, len(p.All))
	for i, q := range p.All {
		if q.Line > 0 {
			errs[i] = fmt.Errorf("%s:%d: %s", p.File, q.Line, q.Msg)
		} else {
			errs[i] = fmt.Errorf("%s: %s", p.File, q.Msg)
		}
	}
	return errors.Join(errs...)
}

// List returns the entries of the list under key in root, a file whose
// only key is key. It reports every other key of root as
// `unknown field "k" (the file has only key)` and, when root is not a
// mapping or holds no non-empty list under key, `key: must be a non-empty
// list` at root's line; it then returns nil. A repeated key counts once,
// with its last value.
func (p *Problems) List(root *yaml.Node, key string) []*yaml.Node {
	for _, k := range UnknownKeys(root, []string{key}) {
		p.Addf(k.Line, "unknown field %q (the file has only %s)", k.Value, key)
	}
	list := Value(root, key)
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		p.Addf(root.Line, "%s: must be a non-empty list", key)
		return nil
	}
	return list.Content
}

// Items decodes each of items, a mapping with keys of known, into a T and
// calls fn with the item and its value, in order. what names an item in
// the messages ("a user"). An item that is not a mapping is reported as
// `<what> is a mapping with k1, k2` and skipped; each key of an item not in
// known as `unknown field "k" (<what> has k1, k2)`, and the item is still
// decoded, unknown keys ignored; an item that does not decode into a T is
// reported in the decoder's words and skipped.
func Items[T any](p *Problems, items []*yaml.Node, what string, known []string, fn func(n *yaml.Node, v T)) {
	keys := strings.Join(known, ", ")
	for _, n := range items {
		if n.Kind != yaml.MappingNode {
			p.Addf(n.Line, "%s is a mapping with %s", what, keys)
			continue
		}
		for _, k := range UnknownKeys(n, known) {
			p.Addf(k.Line, "unknown field %q (%s has %s)", k.Value, what, keys)
		}
		var v T
		if err := n.Decode(&v); err != nil {
			p.Addf(n.Line, "%v", err)
			continue
		}
		fn(n, v)
	}
}

// Value returns the value of key in the mapping n: the last one when key
// is repeated, nil when n is not a mapping or has no such key.
func Value(n *yaml.Node, key string) *yaml.Node {
	if vs := Values(n, key); len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return nil
}

// Values returns every value of key in the mapping n, in file order: a
// node keeps a repeated key, which a decoded struct, and Value, see only
// once. It returns nil when n is not a mapping or has no such key.
func Values(n *yaml.Node, key string) []*yaml.Node {
	var vs []*yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				vs = append(vs, n.Content[i+1])
			}
		}
	}
	return vs
}

// UnknownKeys returns the keys of the mapping n that are not in known, in
// file order; nil when n is not a mapping.
func UnknownKeys(n *yaml.Node, known []string) []*yaml.Node {
	var keys []*yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(known, k.Value) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Line follows a path of mapping keys (string) and sequence indexes (int)
// from n and returns the line of the deepest node it reaches: a key's own
// line for a key, an entry's for an index. A step that does not match
// stops it.
func Line(n *yaml.Node, path ...any) int {
	line := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch k := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// Strict decodes data, one YAML document, into v with unknown fields
// refused, and returns the document's root node and every problem the
// decoder found, each at its line: an unknown field as
// `unknown field "name"`, the others in the decoder's words. v is decoded
// as far as it could be. The root is nil when there is no document to
// check further: data is not YAML, has no document (the one problem is
// "empty file", at line 0), or decoding stopped on an error other than
// values of the wrong type.
func Strict(data []byte, v any) (*yaml.Node, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Problem{decoderProblem(err.Error())}
	}
	if len(doc.Content) == 0 {
		return nil, []Problem{{Line: 0, Msg: "empty file"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var probs []Problem
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, []Problem{decoderProblem(err.Error())}
		}
		for _, e := range te.Errors {
			probs = append(probs, decoderProblem(e))
		}
	}
	return doc.Content[0], probs
}

// lineRE finds the line yaml reports at the start of its messages.
// (?s): a quoted value in the message may span lines.
var lineRE = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)

// unknownFieldRE finds yaml's strict-decoding message, to say it in the
// words of the other readers.
var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// decoderProblem splits one of yaml's messages into its line and what it
// says.
func decoderProblem(msg string) Problem {
	var p Problem
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = m[2]
	} else {
		p.Msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if m := unknownFieldRE.FindStringSubmatch(p.Msg); m != nil {
		p.Msg = "unknown field " + strconv.Quote(m[1])
	}
	return p
}
