package workflow_test

import (
	"errors"
	"io/fs"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

// FuzzParse: the definition loader never panics; any input either fails
// with a *ValidationError whose problems all name the file (and a line
// when the YAML itself was well-formed and not empty), or gives a
// definition that names its file, has a Vietnamese name, and parses again
// to the same result.
func FuzzParse(f *testing.F) {
	files, err := fs.Glob(configs.FS, configs.DefinitionsDir+"/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := fs.ReadFile(configs.FS, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("id: x\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("id: x\nversion: 1\nname: {vi: a}\nstates: [{name: a, status: 1}]\nactions: [{name: go, from: [a], to: a, guards: [{bogus: 1}]}]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := workflow.Parse("f.yaml", data)
		if err != nil {
			var ve *workflow.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Parse(%q) = %v, want a *ValidationError", data, err)
			}
			var doc yaml.Node
			wellFormed := yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0
			for _, p := range ve.Problems {
				if p.File != "f.yaml" || p.Msg == "" {
					t.Fatalf("Parse(%q): problem %+v does not name the file or say what is wrong", data, p)
				}
				if wellFormed && p.Line <= 0 {
					t.Fatalf("Parse(%q): problem %+v of well-formed YAML has no line", data, p)
				}
			}
			return
		}
		if d == nil || d.File != "f.yaml" || d.NameVI == "" {
			t.Fatalf("Parse(%q) = %+v, nil", data, d)
		}
		if _, err := workflow.Parse("f.yaml", data); err != nil {
			t.Fatalf("Parse(%q) succeeded then failed: %v", data, err)
		}
	})
}
