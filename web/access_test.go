package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
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

// TestSetAccess: SetAccess swaps the users of a server started with an
// access file, for the requests after it, and refuses to turn access
// control on or off.
func TestSetAccess(t *testing.T) {
	access := func(name string) (*Access, string) {
		t.Helper()
		tok, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAccess(strings.NewReader("users:\n  - name: "+name+"\n    token_sha256: "+hash+"\n    role: viewer\n"), "access.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return a, tok
	}
	a, tokA := access("ana")
	b, tokB := access("ba")
	if err := New(Config{}).SetAccess(a); !errors.Is(err, ErrAccessOff) {
		t.Errorf("SetAccess on a server without access control = %v, want ErrAccessOff", err)
	}
	s := New(Config{Access: a})
	if err := s.SetAccess(nil); !errors.Is(err, ErrAccessOff) {
		t.Errorf("SetAccess(nil) = %v, want ErrAccessOff", err)
	}
	status := func(tok string) int {
		// An unknown API path: 401 without a user, 404 for any user, and
		// no handler that would need the server's store or catalog.
		req := httptest.NewRequest("GET", "/api/v1/no-such-route", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code
	}
	if got := status(tokA); got != http.StatusNotFound {
		t.Fatalf("ana before the swap: %d", got)
	}
	if err := s.SetAccess(b); err != nil {
		t.Fatal(err)
	}
	if got, got2 := status(tokA), status(tokB); got != http.StatusUnauthorized || got2 != http.StatusNotFound {
		t.Errorf("after the swap: ana %d (want 401), ba %d (want 404)", got, got2)
	}
}
