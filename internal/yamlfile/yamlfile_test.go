package yamlfile_test

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

func TestRead(t *testing.T) {
	root, err := yamlfile.Read(strings.NewReader("# a file\nusers: [a]\n"), "f.yaml")
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	if root.Kind != yaml.MappingNode || root.Line != 2 {
		t.Errorf("Read: root kind %v at line %d, want the mapping at line 2", root.Kind, root.Line)
	}
	for _, tc := range []struct{ name, file string }{{"nothing", ""}, {"comments", "# only\n# comments\n"}} {
		if _, err := yamlfile.Read(strings.NewReader(tc.file), "f.yaml"); !errors.Is(err, yamlfile.ErrEmpty) || !strings.HasPrefix(err.Error(), "f.yaml: ") {
			t.Errorf("Read(%s) = %v, want f.yaml: and ErrEmpty", tc.name, err)
		}
	}
	if _, err := yamlfile.Read(strings.NewReader("users: [\n"), "f.yaml"); err == nil || errors.Is(err, yamlfile.ErrEmpty) || !strings.HasPrefix(err.Error(), "f.yaml: yaml: ") {
		t.Errorf("Read(bad YAML) = %v, want the decoder's error after f.yaml:", err)
	}
	boom := errors.New("boom")
	if _, err := yamlfile.Read(iotest.ErrReader(boom), "f.yaml"); !errors.Is(err, boom) || err.Error() != "f.yaml: boom" {
		t.Errorf("Read(failing reader) = %v, want f.yaml: boom", err)
	}
}

// TestReadLimit checks that Read reads MaxSize bytes, and not one more:
// a file's last byte at the limit is read, a quote after it is not.
func TestReadLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes two files of 4 MiB")
	}
	lines := strings.Repeat("\n", yamlfile.MaxSize-1)
	if root, err := yamlfile.Read(strings.NewReader(lines+"a"), "f.yaml"); err != nil || root.Value != "a" {
		t.Errorf("Read(MaxSize bytes ending in a) = %v, %v, want the scalar a", root, err)
	}
	if root, err := yamlfile.Read(strings.NewReader("a"+lines+"'"), "f.yaml"); err != nil || root.Value != "a" {
		t.Errorf("Read(a, newlines to MaxSize, then a quote) = %v, %v, want the scalar a: the quote is not read", root, err)
	}
}

func TestDecode(t *testing.T) {
	root, err := yamlfile.Decode([]byte("- a\n- b\n"), "f.yaml")
	if err != nil || root.Kind != yaml.SequenceNode || len(root.Content) != 2 {
		t.Fatalf("Decode = %v, %v, want the list of 2", root, err)
	}
	if _, err := yamlfile.Decode(nil, "f.yaml"); !errors.Is(err, yamlfile.ErrEmpty) {
		t.Errorf("Decode(nil) = %v, want ErrEmpty", err)
	}
}

func TestProblemsErr(t *testing.T) {
	p := &yamlfile.Problems{File: "f.yaml"}
	if err := p.Err(); err != nil {
		t.Errorf("Err without problems = %v, want nil", err)
	}
	p.Addf(3, "bad %q", "x")
	p.Addf(0, "empty file")
	p.Addf(1, "first")
	want := "f.yaml:3: bad \"x\"\nf.yaml: empty file\nf.yaml:1: first"
	if err := p.Err(); err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %q", err, want)
	}
	wantAll := []yamlfile.Problem{{3, `bad "x"`}, {0, "empty file"}, {1, "first"}}
	if diff := cmp.Diff(wantAll, p.All); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
}

func root(t *testing.T, data string) *yaml.Node {
	t.Helper()
	n, err := yamlfile.Decode([]byte(data), "f.yaml")
	if err != nil {
		t.Fatalf("Decode(%q) = %v", data, err)
	}
	return n
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		items      int
		want       string
	}{
		{"good", "users:\n  - a\n  - b\n", 2, ""},
		{"unknown key", "users: [a]\nuser: x\n", 1, "f.yaml:2: unknown field \"user\" (the file has only users)"},
		{"repeated key, last wins", "users: [a]\nusers: [b, c]\n", 2, ""},
		{"no list", "other: 1\n", 0, "f.yaml:1: unknown field \"other\" (the file has only users)\nf.yaml:1: users: must be a non-empty list"},
		{"empty list", "\nusers: []\n", 0, "f.yaml:2: users: must be a non-empty list"},
		{"not a list", "users: a\n", 0, "f.yaml:1: users: must be a non-empty list"},
		{"null", "users:\n", 0, "f.yaml:1: users: must be a non-empty list"},
		{"not a mapping", "\n- users\n", 0, "f.yaml:2: users: must be a non-empty list"},
	} {
		p := &yamlfile.Problems{File: "f.yaml"}
		items := p.List(root(t, tc.file), "users")
		if len(items) != tc.items {
			t.Errorf("%s: List = %d items, want %d", tc.name, len(items), tc.items)
		}
		if got := errString(p.Err()); got != tc.want {
			t.Errorf("%s: List problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestItems(t *testing.T) {
	type item struct {
		Name string `yaml:"name"`
		N    int    `yaml:"n"`
	}
	const file = `users:
  - name: a
    n: 1
  - just a string
  - name: b
    colour: red
    n: 2
  - name: c
    n: [1]
  - name: d
`
	p := &yamlfile.Problems{File: "f.yaml"}
	var got []item
	var lines []int
	yamlfile.Items(p, p.List(root(t, file), "users"), "a user", []string{"name", "n"}, func(n *yaml.Node, v item) {
		got = append(got, v)
		lines = append(lines, n.Line)
	})
	if diff := cmp.Diff([]item{{"a", 1}, {"b", 2}, {"d", 0}}, got); diff != "" {
		t.Errorf("Items decoded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2, 5, 10}, lines); diff != "" {
		t.Errorf("Items lines (-want +got):\n%s", diff)
	}
	want := []yamlfile.Problem{
		{4, "a user is a mapping with name, n"},
		{6, `unknown field "colour" (a user has name, n)`},
		{8, "yaml: unmarshal errors:\n  line 9: cannot unmarshal !!seq into int"},
	}
	if diff := cmp.Diff(want, p.All); diff != "" {
		t.Errorf("Items problems (-want +got):\n%s", diff)
	}
}

func TestValue(t *testing.T) {
	n := root(t, "a: 1\nb: 2\na: 3\n")
	for _, tc := range []struct {
		key  string
		want string
	}{{"a", "3"}, {"b", "2"}} {
		if v := yamlfile.Value(n, tc.key); v == nil || v.Value != tc.want {
			t.Errorf("Value(%q) = %v, want %s", tc.key, v, tc.want)
		}
	}
	if v := yamlfile.Value(n, "c"); v != nil {
		t.Errorf("Value(missing) = %v, want nil", v)
	}
	var all []string
	for _, v := range yamlfile.Values(n, "a") {
		all = append(all, v.Value)
	}
	if diff := cmp.Diff([]string{"1", "3"}, all); diff != "" {
		t.Errorf("Values(a) (-want +got):\n%s", diff)
	}
	if vs := yamlfile.Values(n, "c"); vs != nil {
		t.Errorf("Values(missing) = %v, want nil", vs)
	}
	if vs := yamlfile.Values(root(t, "[a, 1]"), "a"); vs != nil {
		t.Errorf("Values(a list) = %v, want nil", vs)
	}
	if v := yamlfile.Value(root(t, "[a, 1]"), "a"); v != nil {
		t.Errorf("Value(a list) = %v, want nil", v)
	}
}

func TestUnknownKeys(t *testing.T) {
	n := root(t, "a: 1\nx: 2\nb: 3\ny: 4\n")
	var got []string
	for _, k := range yamlfile.UnknownKeys(n, []string{"a", "b"}) {
		got = append(got, k.Value)
	}
	if diff := cmp.Diff([]string{"x", "y"}, got); diff != "" {
		t.Errorf("UnknownKeys (-want +got):\n%s", diff)
	}
	if k := yamlfile.UnknownKeys(n, []string{"a", "b", "x", "y"}); k != nil {
		t.Errorf("UnknownKeys(all known) = %v, want nil", k)
	}
	if k := yamlfile.UnknownKeys(root(t, "[x, y]"), nil); k != nil {
		t.Errorf("UnknownKeys(a list) = %v, want nil", k)
	}
}

func TestLine(t *testing.T) {
	n := root(t, `id: x
states:
  - name: a
  - name: b
    status: 2
`)
	for _, tc := range []struct {
		path []any
		want int
	}{
		{nil, 1},
		{[]any{"states"}, 2},
		{[]any{"states", 1}, 4},
		{[]any{"states", 1, "status"}, 5},
		{[]any{"states", 2, "status"}, 2}, // no third state: the list's key
		{[]any{"states", 0, "label"}, 3},  // no label: the state's line
		{[]any{"missing"}, 1},
		{[]any{"id", 0}, 1},
	} {
		if got := yamlfile.Line(n, tc.path...); got != tc.want {
			t.Errorf("Line(%v) = %d, want %d", tc.path, got, tc.want)
		}
	}
}

type strictDoc struct {
	ID    string       `yaml:"id"`
	N     int          `yaml:"n"`
	Items []strictItem `yaml:"items"`
}

type strictItem struct {
	Name string `yaml:"name"`
}

func TestStrict(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		root       bool
		want       []yamlfile.Problem
	}{
		{"good", "id: x\nn: 1\n", true, nil},
		{"unknown fields", "id: x\ncolour: red\nitems:\n  - name: a\n    size: 2\n", true,
			[]yamlfile.Problem{{2, `unknown field "colour"`}, {5, `unknown field "size"`}}},
		{"wrong type", "id: x\nn: many\n", true, []yamlfile.Problem{{2, "cannot unmarshal !!str `many` into int"}}},
		{"empty", "", false, []yamlfile.Problem{{0, "empty file"}}},
		{"comments only", "# nothing\n", false, []yamlfile.Problem{{0, "empty file"}}},
		{"not YAML", "id: x\nn: [\n", false, []yamlfile.Problem{{2, "did not find expected node content"}}},
		{"multi-line value", "id: x\nn: |\n  a\n  b\n", true, []yamlfile.Problem{{2, "cannot unmarshal !!str `a\nb\n` into int"}}},
	} {
		var v strictDoc
		root, got := yamlfile.Strict([]byte(tc.file), &v)
		if (root != nil) != tc.root {
			t.Errorf("Strict(%s): root %v, want one: %v", tc.name, root, tc.root)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Strict(%s) problems (-want +got):\n%s", tc.name, diff)
		}
	}
	var v strictDoc
	if _, probs := yamlfile.Strict([]byte("id: x\nn: many\nitems: [{name: a}]\n"), &v); len(probs) != 1 || v.ID != "x" || len(v.Items) != 1 {
		t.Errorf("Strict with a wrong type = %+v, %v, want the rest decoded", v, probs)
	}
}
