package workflow_test

import (
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/workflow"
)

func TestDiagrams(t *testing.T) {
	d, err := workflow.Parse("mini.yaml", []byte(goodYAML+"  - {name: note, from: [processing], stay: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dot := d.DOT()
	for _, want := range []string{
		`digraph "mini@1" {`,
		`"start" [shape=point`,
		`"received" [label="received\n2 Được tiếp nhận"];`,
		`"done" [label="done\n10 Đã trả kết quả", peripheries=2];`,
		`"start" -> "received" [label="receive"];`,
		`"processing" -> "processing" [label="note"];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	mm := d.Mermaid()
	for _, want := range []string{
		"stateDiagram-v2\n",
		"  received: received — 2 Được tiếp nhận\n",
		"  [*] --> received: receive\n",
		"  processing --> done: finish\n",
		"  processing --> processing: note\n",
		"  done --> [*]\n",
	} {
		if !strings.Contains(mm, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, mm)
		}
	}
	if strings.Count(mm, "-->") != 5 {
		t.Errorf("Mermaid has %d edges, want 5 (3 actions, 1 loop, 1 end):\n%s", strings.Count(mm, "-->"), mm)
	}
}
