package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/web"
)

func TestAccessHashToken(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"access", "hash-token"}, noEnv, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("access hash-token = %v, %s", err, errb.String())
	}
	var tok, hash string
	for _, line := range strings.Split(out.String(), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "token":
			tok = strings.TrimSpace(v)
		case "token_sha256":
			hash = strings.TrimSpace(v)
		}
	}
	if tok == "" || web.HashToken(tok) != hash {
		t.Fatalf("access hash-token printed %q", out.String())
	}
}

// TestAccessAddRemove: hoso access add appends a user with a new token
// that authenticates, remove takes one out, and both leave the rest of
// the file as it was and refuse what would not load.
func TestAccessAddRemove(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.yaml")
	hoso := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"access"}, args...), noEnv, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	add := func(args ...string) string {
		t.Helper()
		out, err := hoso(append([]string{"add", "--file", file}, args...)...)
		if err != nil {
			t.Fatalf("access add %v: %v\n%s", args, err, out)
		}
		_, tok, ok := strings.Cut(out, "token: ")
		if !ok {
			t.Fatalf("access add %v printed no token:\n%s", args, out)
		}
		return strings.Fields(tok)[0]
	}
	load := func() *web.Access {
		t.Helper()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		a, err := web.ParseAccess(bytes.NewReader(data), file)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice := add("--name", "alice", "--role", "admin")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new access file: %v, %v; want mode 0600", fi, err)
	}
	scoped := add("--name", "sở tư pháp", "--role", "viewer", "--agencies", "SO-TP, H57")
	data, _ := os.ReadFile(file)
	if err := os.WriteFile(file, append([]byte("# the province's supervisors\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	bob := add("--name", "bob", "--role", "auditor")

	a := load()
	for _, tt := range []struct {
		tok, name string
		role      web.Role
		agencies  []string
	}{{alice, "alice", web.RoleAdmin, nil}, {scoped, "sở tư pháp", web.RoleViewer, []string{"SO-TP", "H57"}}, {bob, "bob", web.RoleAuditor, nil}} {
		u, ok := a.Authenticate(tt.tok)
		if !ok || u.Name != tt.name || u.Role != tt.role || !slices.Equal(u.Agencies, tt.agencies) {
			t.Errorf("the token of %s authenticates as %+v, %v", tt.name, u, ok)
		}
	}

	if out, err := hoso("remove", "--file", file, "sở tư pháp"); err != nil {
		t.Fatalf("access remove: %v\n%s", err, out)
	}
	data, _ = os.ReadFile(file)
	if !strings.HasPrefix(string(data), "# the province's supervisors\nusers:\n  - name: alice\n") || strings.Contains(string(data), "SO-TP") {
		t.Errorf("after remove the file is:\n%s", data)
	}
	a = load()
	if _, ok := a.Authenticate(scoped); ok {
		t.Error("the removed user's token still authenticates")
	}
	if _, ok := a.Authenticate(bob); !ok {
		t.Error("bob's token no longer authenticates")
	}

	before, _ := os.ReadFile(file)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--file", file, "--name", "bob", "--role", "viewer"}, `already has a user "bob"`},
		{[]string{"add", "--file", file, "--name", "carol", "--role", "boss"}, `role "boss"`},
		{[]string{"remove", "--file", file, "nobody"}, `no user "nobody"`},
		{[]string{"add", "--name", "dan", "--role", "viewer"}, "give --file"},
	} {
		if out, err := hoso(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("access %v = %v (%s), want an error with %q", tt.args, err, out, tt.want)
		}
	}
	if out, err := hoso("remove", "--file", file, "alice"); err != nil {
		t.Fatalf("remove alice: %v\n%s", err, out)
	}
	if out, err := hoso("remove", "--file", file, "bob"); err == nil || !strings.Contains(err.Error(), "the only user") {
		t.Errorf("removing the last user = %v (%s), want a refusal", err, out)
	}
	if after, _ := os.ReadFile(file); !strings.Contains(string(after), "name: bob") || strings.Contains(string(after), "alice") || len(after) >= len(before) {
		t.Errorf("after the refusals and removing alice the file is:\n%s", after)
	}
}

// TestServeCheckRefusesWritableFiles: serve --check (and so serve and its
// SIGHUP reload, which share the loader) refuses an access file or a NATS
// users file that others than its owner may write, or that is not a
// regular file, naming the file, its mode and the fix.
func TestServeCheckRefusesWritableFiles(t *testing.T) {
	dir := t.TempDir()
	accessFile := filepath.Join(dir, "access.yaml")
	testutil.WriteAccess(t, accessFile, testutil.AccessUser{Name: "alice", Role: "admin"})
	natsUsers := filepath.Join(dir, "nats-users.yaml")
	if err := os.WriteFile(natsUsers, []byte("users:\n  - name: tayninh-dvc\n    password: tayninh-secret-123\n    source: tayninh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func() (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"serve", "--check", "--data-dir", filepath.Join(dir, "data"),
			"--access", accessFile, "--nats-users", natsUsers}, noEnv, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	chmod := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := check(); err != nil {
		t.Fatalf("serve --check with files of mode 0600: %v\n%s", err, out)
	}
	chmod(accessFile, 0o644) // readable by all is the owner's choice
	chmod(natsUsers, 0o640)
	if out, err := check(); err != nil {
		t.Fatalf("serve --check with files of modes 0644 and 0640: %v\n%s", err, out)
	}
	chmod(accessFile, 0o666)
	chmod(natsUsers, 0o620)
	out, err := check()
	if err == nil || strings.Contains(out, "configuration OK") {
		t.Fatalf("serve --check with a world-writable access file and a group-writable users file = %v, want refused\n%s", err, out)
	}
	for _, want := range []string{
		"access file " + accessFile + ": mode 0666 lets others than its owner write it; run chmod 600 " + accessFile,
		"nats users file " + natsUsers + ": mode 0620 lets others than its owner write it; run chmod 600 " + natsUsers,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("serve --check = %v, want it to say %q", err, want)
		}
	}
}
