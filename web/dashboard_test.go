package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

// TestLabels: every label key the templates and the Go code use exists,
// in both languages.
func TestLabels(t *testing.T) {
	for key, l := range labels {
		if l[0] == "" || l[1] == "" {
			t.Errorf("label %q lacks a language: %q", key, l)
		}
	}
	used := map[string]string{}
	tplKey := regexp.MustCompile(`\.T "([a-z0-9.\-_]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range tplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goKey := regexp.MustCompile(`label\(lang, "([a-z0-9.\-_]+)"\)`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d label keys in use: is the pattern stale?", len(used))
	}
	for key, where := range used {
		if _, ok := labels[key]; !ok {
			t.Errorf("%s uses label %q, which has no entry in labels", where, key)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		lang string
		n    int64
		want string
	}{{langVI, 270497, "270.497"}, {langEN, 270497, "270,497"}, {langVI, 5, "5"}, {langVI, -1234, "-1.234"}, {langEN, 1000000, "1,000,000"}} {
		if got := formatInt(c.lang, c.n); got != c.want {
			t.Errorf("formatInt(%s, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
	if got := formatPct(langVI, 94.12); got != "94,12%" {
		t.Errorf("formatPct(vi, 94.12) = %q", got)
	}
	if got := formatPct(langEN, 2.03); got != "2.03%" {
		t.Errorf("formatPct(en, 2.03) = %q", got)
	}
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-12": "-12", "-x": "'-x", "@a": "'@a", "Hộ tịch": "Hộ tịch", "": ""} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDiagram: every shipped definition lays out with each state once,
// inside the drawing, and an arrow per pair of states an action joins.
func TestDiagram(t *testing.T) {
	cat, err := workflow.Load(os.DirFS("../configs"), "definitions")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cat.Definitions() {
		dg := layoutDiagram("x", d, langVI)
		if len(dg.Nodes) != len(d.States)+1 {
			t.Errorf("%s: %d nodes for %d states and the start", d.Key(), len(dg.Nodes), len(d.States))
		}
		pairs := map[[2]string]bool{}
		for _, a := range d.Actions {
			for _, f := range a.From {
				to := a.To
				if a.Stay {
					to = f
				}
				pairs[[2]string{f, to}] = true
			}
		}
		if len(dg.Edges) != len(pairs) {
			t.Errorf("%s: %d arrows for %d joined pairs", d.Key(), len(dg.Edges), len(pairs))
		}
		seen := map[string]bool{}
		for _, n := range dg.Nodes {
			if seen[n.Name] {
				t.Errorf("%s: state %s drawn twice", d.Key(), n.Name)
			}
			seen[n.Name] = true
			if n.X < 0 || n.Y < 0 || n.X+n.W > dg.W || n.Y+n.H > dg.H {
				t.Errorf("%s: state %s at (%.0f,%.0f) outside %.0f×%.0f", d.Key(), n.Name, n.X, n.Y, dg.W, dg.H)
			}
		}
		for _, e := range dg.Edges {
			if e.BX < 0 || e.BX+e.LW > dg.W || strings.Contains(e.Path, "NaN") {
				t.Errorf("%s: arrow %q label at %.0f (width %.0f) outside %.0f", d.Key(), e.Label, e.BX, e.LW, dg.W)
			}
		}
	}
}
