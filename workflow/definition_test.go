package workflow_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hoso-vn/hoso/workflow"
)

const goodYAML = `id: mini
version: 1
name: {vi: Thử, en: Test}
effective: 2025-07-01
procedures: ["2.000001"]
states:
  - {name: received, status: 2}
  - {name: processing, status: 4}
  - {name: done, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received}
  - {name: assign, from: [received], to: processing}
  - {name: finish, from: [processing], to: done}
`

func TestParseValid(t *testing.T) {
	d, err := workflow.Parse("mini.yaml", []byte(goodYAML))
	if err != nil {
		t.Fatalf("Parse(mini) = %v", err)
	}
	if d.Key() != "mini@1" || d.NameEN != "Test" || len(d.States) != 3 || d.Action("finish").To != "done" {
		t.Fatalf("Parse(mini) = %+v", d)
	}
}

// TestParseReportsEveryProblem: one file with many faults gives every one
// of them, each with its line, in one error.
func TestParseReportsEveryProblem(t *testing.T) {
	bad := `id: Bad Id
version: 0
name: {vi: Sai}
effective: 2025-07-01
procedures: ["2.000001", "2.000001"]
colour: blue
states:
  - {name: received, status: 2}
  - {name: received, status: 4}
  - {name: lost, status: 11}
  - {name: limbo, status: 4}
  - {name: done, status: 10, terminal: true}
actions:
  - {name: receive, from: [start], to: received}
  - {name: receive, from: [received], to: done}
  - {name: jump, from: [nowhere], to: done}
  - {name: undo, from: [done], to: received}
  - {name: wait, from: [received], stay: true, guards: [{fields: [colour]}]}
  - {name: close, from: [received], to: done, guards: [{attachments: [x], from: [done]}]}
  - {name: loop, from: [received], to: gone, sets_du: true}
`
	_, err := workflow.Parse("bad.yaml", []byte(bad))
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse(bad) = %v, want *ValidationError", err)
	}
	want := []struct {
		line int
		text string
	}{
		{1, `id "Bad Id"`},
		{2, "version must be a positive integer"},
		{5, `procedure "2.000001" listed twice`},
		{6, `unknown field "colour"`},
		{9, `state "received" defined twice (first at line 8)`},
		{10, "status 11 is not a national status code"},
		{10, `state "lost" is unreachable`},
		{11, `state "limbo" is unreachable`},
		{11, `state "limbo" is not terminal but no action leaves it`},
		{15, `action "receive" defined twice (first at line 14)`},
		{16, `from state "nowhere" is not defined`},
		{17, `leaves terminal state "done"`},
		{18, `unknown field "colour"`},
		{19, `guard applies from "done"`},
		{20, `unknown field "sets_du"`},
		{20, `to state "gone" is not defined`},
	}
	msg := err.Error()
	for _, w := range want {
		found := false
		for _, p := range ve.Problems {
			if p.File == "bad.yaml" && p.Line == w.line && strings.Contains(p.Msg, w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at bad.yaml:%d containing %q; got:\n%s", w.line, w.text, msg)
		}
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := workflow.Parse("broken.yaml", []byte("id: x\nstates: [\n"))
	var p workflow.Problem
	if !errors.As(err, &p) || p.File != "broken.yaml" || p.Line == 0 {
		t.Fatalf("Parse(broken) = %v, want a Problem with file and line", err)
	}
}

func TestLoadAcrossFiles(t *testing.T) {
	v2 := strings.Replace(strings.Replace(goodYAML, "version: 1", "version: 2", 1), "2025-07-01", "2026-01-01", 1)
	other := strings.Replace(goodYAML, "id: mini", "id: other", 1)
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error; "" for success
	}{
		{"two versions", map[string]string{"a.yaml": goodYAML, "b.yml": v2, "notes.txt": "ignored"}, ""},
		{"same version twice", map[string]string{"a.yaml": goodYAML, "b.yaml": goodYAML}, "mini@1 is also defined in"},
		{"later version earlier", map[string]string{"a.yaml": strings.Replace(goodYAML, "2025-07-01", "2027-01-01", 1), "b.yaml": v2}, "must take effect after version 1"},
		{"procedure claimed twice", map[string]string{"a.yaml": goodYAML, "b.yaml": other}, `procedure "2.000001" is claimed by definitions "mini"`},
		{"bad files all reported", map[string]string{"a.yaml": "id: [", "b.yaml": "version: x"}, "defs/b.yaml"},
		{"empty dir", map[string]string{"x.txt": ""}, "no definition files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, s := range tt.files {
				fsys["defs/"+n] = &fstest.MapFile{Data: []byte(s)}
			}
			c, err := workflow.Load(fsys, "defs")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load = %v", err)
				}
				if len(c.Definitions()) != 2 || c.Resolve("2.000001", t0).Version != 1 || c.Resolve("9.9", t0) != nil {
					t.Fatalf("catalog %v resolves wrongly", c.Definitions())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want error containing %q", err, tt.want)
			}
			if tt.name == "bad files all reported" && !strings.Contains(err.Error(), "defs/a.yaml") {
				t.Fatalf("Load = %v, want problems of both files", err)
			}
		})
	}
}
