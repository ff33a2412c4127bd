package web

import (
	"slices"
	"strings"
	"testing"
)

// TestAccessEntries: add and remove find every user of the file with the
// lines of its entry, and the indent of the list, in every users list: a
// repeated users key, which the parser reads as its last, hides none of
// them from add's check that a name is free.
func TestAccessEntries(t *testing.T) {
	ha, hb := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for _, tt := range []struct {
		name, file string
		want       []accessEntry
		indent     int
	}{
		{"new", "users:\n", nil, 2},
		{"one list", "# c\nusers:\n    - name: a\n      token_sha256: " + ha + "\n      role: admin\n\n    - role: viewer\n      name: b\n      token_sha256: " + hb + "\n",
			[]accessEntry{{"a", 3, 5}, {"b", 7, 9}}, 4},
		{"repeated users", "users:\n  - name: a\n    token_sha256: " + ha + "\n    role: admin\nusers:\n- name: b\n  token_sha256: " + hb + "\n  role: viewer\n",
			[]accessEntry{{"a", 2, 4}, {"b", 6, 8}}, 0},
	} {
		got, indent, err := accessEntries([]byte(tt.file), "access.yaml")
		if err != nil || !slices.Equal(got, tt.want) || indent != tt.indent {
			t.Errorf("accessEntries(%s) = %+v, %d, %v, want %+v, %d", tt.name, got, indent, err, tt.want, tt.indent)
		}
	}
	if _, _, err := accessEntries([]byte("users:\n  - name: a\n"), "access.yaml"); err == nil || !strings.HasPrefix(err.Error(), "access.yaml:2: ") {
		t.Errorf("accessEntries(a file that does not load) = %v, want the parser's problems", err)
	}
}
