package web

import (
	"strings"
	"testing"
)

func TestParseAccess(t *testing.T) {
	tok, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	good := "users:\n  - name: ana\n    token_sha256: " + hash + "\n    role: auditor\n    agencies: [H57]\n"
	a, err := ParseAccess(strings.NewReader(good), "access.yaml")
	if err != nil {
		t.Fatalf("ParseAccess(good) = %v", err)
	}
	u, ok := a.Authenticate(tok)
	if !ok || u.Name != "ana" || u.Role != RoleAuditor || !u.Scoped() || !u.sees("H57") || u.sees("X99") {
		t.Fatalf("Authenticate(token) = %+v, %t", u, ok)
	}
	for _, bad := range []string{"", "x", hash, tok[:len(tok)-1]} {
		if _, ok := a.Authenticate(bad); ok {
			t.Errorf("Authenticate(%q) = ok, want refused", bad)
		}
	}

	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "empty access file"},
		{"unknown top", "user: []\n", "access.yaml:1: unknown field \"user\""},
		{"unknown field", "users:\n  - name: a\n    token: x\n    token_sha256: " + hash + "\n    role: admin\n", "access.yaml:3: unknown field \"token\""},
		{"raw token", "users:\n  - name: a\n    token_sha256: " + tok + "\n    role: admin\n", "access.yaml:2: token_sha256: must be 64 hex digits"},
		{"role", "users:\n  - name: a\n    token_sha256: " + hash + "\n    role: root\n", "access.yaml:2: role \"root\""},
		{"duplicate", "users:\n  - name: a\n    token_sha256: " + hash + "\n    role: admin\n  - name: a\n    token_sha256: " + hash + "\n    role: admin\n",
			"access.yaml:5: name \"a\": already used on line 2"},
		{"same token", "users:\n  - name: a\n    token_sha256: " + hash + "\n    role: admin\n  - name: b\n    token_sha256: " + hash + "\n    role: admin\n",
			"access.yaml:5: token_sha256: the same token as the user on line 2"},
		{"agency", "users:\n  - name: a\n    token_sha256: " + hash + "\n    role: viewer\n    agencies: [H57, H57]\n", "agencies: \"H57\" is empty or repeated"},
	} {
		_, err := ParseAccess(strings.NewReader(tc.file), "access.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseAccess = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestHashToken(t *testing.T) {
	// sha256("abc")
	if got, want := HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
}
