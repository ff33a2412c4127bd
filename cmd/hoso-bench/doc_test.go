package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaceResults checks --doc's rewrite of docs/performance.md: the
// results between the markers replaced by a run's Markdown, the text
// outside them untouched, and a missing, repeated or misplaced marker an
// error that leaves the file as it was.
func TestReplaceResults(t *testing.T) {
	const (
		before = "# Performance\n\nProse before, kept.\n\n## Results\n\n"
		after  = "\n\nProse after, kept: the figures of the previous round.\n"
	)
	md := fakeResults().markdown()
	path := filepath.Join(t.TempDir(), "performance.md")
	doc := before + docBegin + "\n\nold results\n| old | table |\n\n" + docEnd + after
	if err := os.WriteFile(path, []byte(doc), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := checkDoc(path); err != nil {
		t.Fatalf("checkDoc: %v", err)
	}
	if err := writeDoc(path, md); err != nil {
		t.Fatalf("writeDoc: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := before + docBegin + "\n\n" + strings.TrimSpace(md) + "\n\n" + docEnd + after
	if string(b) != want {
		t.Errorf("writeDoc wrote:\n%s\nwant:\n%s", b, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after writeDoc: %v, %v; want 0640", fi.Mode(), err)
	}
	// Again: the same document, the markers found where the last run put
	// them.
	if err := writeDoc(path, md); err != nil {
		t.Fatalf("writeDoc again: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Errorf("writeDoc again wrote:\n%s\nwant:\n%s", b, want)
	}

	for name, bad := range map[string]string{
		"no beginning":   before + "old\n" + docEnd + after,
		"no end":         before + docBegin + "\nold\n" + after,
		"no markers":     before + after,
		"end first":      before + docEnd + "\nold\n" + docBegin + after,
		"two beginnings": before + docBegin + docBegin + "\nold\n" + docEnd + after,
	} {
		if _, err := replaceResults(bad, md); !errors.Is(err, errNoMarkers) {
			t.Errorf("%s: replaceResults = %v, want errNoMarkers", name, err)
		}
		p := filepath.Join(t.TempDir(), "performance.md")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := checkDoc(p); !errors.Is(err, errNoMarkers) {
			t.Errorf("%s: checkDoc = %v, want errNoMarkers", name, err)
		}
		if err := writeDoc(p, md); !errors.Is(err, errNoMarkers) {
			t.Errorf("%s: writeDoc = %v, want errNoMarkers", name, err)
		}
		if b, _ := os.ReadFile(p); string(b) != bad {
			t.Errorf("%s: writeDoc changed the file", name)
		}
	}
}
