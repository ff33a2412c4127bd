// Package yamlfile reads hoso's strict YAML files: the definitions and
// calendar years of package workflow, the access file of package web and
// the NATS users file of package events. It is the one place those
// readers share, so that each file is read the same way and every problem
// is named with its file and line.
//
// There are two ways of reading, which share Problem:
//
// Read (or Decode) returns a document's root node, after at most MaxSize
// bytes; a file without a document gives ErrEmpty, for the caller to say
// what the file needs. A file that is one list of mappings under one key
// ("users: [{name: a, …}, …]") is then walked with a Problems: List finds
// the list and reports every other key, Items decodes each entry and
// reports its unknown keys, and Problems.Err joins every problem as
// "file:line: message".
//
// Strict decodes a document into a struct with unknown fields refused, and
// returns the root node with every problem the decoder found, each at its
// line; the caller validates the rest and locates what it finds with Line.
//
// Unknown keys are reported as `unknown field "key"`, followed by what the
// mapping may hold where the reader says it. Lines count from 1; 0 means
// the file as a whole.
//
// The package holds no state: its functions are safe for concurrent use;
// a Problems belongs to one goroutine.
package yamlfile
