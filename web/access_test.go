package web

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// TestSetAccessEndsFeeds: replacing the access file ends the live-feed
// streams whose users may no longer see them (removed, demoted, or no
// longer of the stream's agency) and keeps the others open.
func TestSetAccessEndsFeeds(t *testing.T) {
	type user struct{ name, role, agencies string }
	tokens := map[string]string{}
	access := func(users ...user) *Access {
		t.Helper()
		var b strings.Builder
		b.WriteString("users:\n")
		for _, u := range users {
			tok, ok := tokens[u.name]
			if !ok {
				var err error
				if tok, _, err = NewToken(); err != nil {
					t.Fatal(err)
				}
				tokens[u.name] = tok
			}
			h := sha256.Sum256([]byte(tok))
			fmt.Fprintf(&b, "  - name: %s\n    token_sha256: %x\n    role: %s\n", u.name, h, u.role)
			if u.agencies != "" {
				fmt.Fprintf(&b, "    agencies: [%s]\n", u.agencies)
			}
		}
		a, err := ParseAccess(strings.NewReader(b.String()), "access.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	feed := NewFeed(16)
	s := New(Config{Feed: feed, Access: access(
		user{"kept", "auditor", ""},
		user{"removed", "auditor", ""},
		user{"demoted", "auditor", ""},
		user{"moved", "auditor", "H57"},
	)})
	srv := newTestServer(s)
	defer srv.Close()
	defer feed.Close() // ends the streams still open, which srv.Close waits for

	type stream struct {
		lines chan string // closed at the end of the stream
	}
	open := func(name string) stream {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/feed", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[name])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("feed for %s: %s", name, resp.Status)
		}
		st := stream{lines: make(chan string, 16)}
		go func() {
			defer resp.Body.Close()
			defer close(st.lines)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				st.lines <- sc.Text()
			}
		}()
		return st
	}
	// next returns the next comment line of the stream, or "EOF".
	next := func(st stream) string {
		t.Helper()
		for {
			select {
			case l, ok := <-st.lines:
				if !ok {
					return "EOF"
				}
				if strings.HasPrefix(l, ": ") {
					return l
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the stream said nothing for 10s")
			}
		}
	}
	streams := map[string]stream{}
	for _, name := range []string{"kept", "removed", "demoted", "moved"} {
		streams[name] = open(name)
		if l := next(streams[name]); l != ": connected" {
			t.Fatalf("feed for %s opens with %q", name, l)
		}
	}
	if err := s.SetAccess(access(
		user{"kept", "auditor", ""},
		user{"demoted", "viewer", ""},
		user{"moved", "auditor", "X99"},
	)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"kept": ": access reloaded", "removed": "EOF", "demoted": "EOF", "moved": "EOF"} {
		if got := next(streams[name]); got != want {
			t.Errorf("after the reload, the feed of %s: %q, want %q", name, got, want)
		}
	}
}
