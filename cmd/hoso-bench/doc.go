package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The markers around the results part of docs/performance.md, which
// --doc replaces with a run's Markdown (results.md), leaving the prose
// around it alone.
const (
	docBegin = "<!-- hoso-bench results begin -->"
	docEnd   = "<!-- hoso-bench results end -->"
)

// errNoMarkers is returned when a document lacks the results markers.
var errNoMarkers = errors.New("hoso-bench: no results markers (" + docBegin + " … " + docEnd + ")")

// replaceResults returns doc with what lies between its markers replaced
// by results. The markers must each appear once, the beginning first.
func replaceResults(doc, results string) (string, error) {
	if n, m := strings.Count(doc, docBegin), strings.Count(doc, docEnd); n != 1 || m != 1 {
		return "", fmt.Errorf("%w: %d beginnings and %d ends, want one of each", errNoMarkers, n, m)
	}
	before, rest, _ := strings.Cut(doc, docBegin)
	_, after, ok := strings.Cut(rest, docEnd)
	if !ok {
		return "", fmt.Errorf("%w: the end comes before the beginning", errNoMarkers)
	}
	return before + docBegin + "\n\n" + strings.TrimSpace(results) + "\n\n" + docEnd + after, nil
}

// checkDoc checks that the document at path has the results markers, so
// that a run does not end by failing to write it.
func checkDoc(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--doc: %w", err)
	}
	if _, err := replaceResults(string(b), ""); err != nil {
		return fmt.Errorf("--doc %s: %w", path, err)
	}
	return nil
}

// writeDoc replaces the results part of the document at path with
// results, through a new file renamed over it.
func writeDoc(path, results string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := replaceResults(string(b), results)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(doc); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
