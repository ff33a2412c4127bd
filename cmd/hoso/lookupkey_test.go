package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPublicKeygen makes a lookup key: hex of 32 bytes on one line, mode
// 0600; never over an existing file. serve --check reports it with the
// lookup's limits, refuses it when its group or others may read it or
// it is too short, and says the lookup is not offered without one.
func TestPublicKeygen(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "lookup.key")
	if _, errb, err := hosoWith(nil, "public", "keygen", "-o", key); err != nil {
		t.Fatalf("hoso public keygen: %v\n%s", err, errb)
	}
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(key)
	if fi.Mode().Perm() != 0o600 || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(text) {
		t.Errorf("the key file: mode %04o, %q; want 0600 and 64 hex digits on a line", fi.Mode().Perm(), text)
	}
	if _, _, err := hosoWith(nil, "public", "keygen", "-o", key); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("hoso public keygen over an existing file = %v, want refused", err)
	}
	if again, _ := os.ReadFile(key); string(again) != string(text) {
		t.Errorf("a refused keygen changed the key file")
	}
	check := func(env map[string]string, extra ...string) (string, error) {
		out, errb, err := hosoWith(env, append([]string{"serve", "--check", "--data-dir", t.TempDir(), "--public-addr", "127.0.0.1:0"}, extra...)...)
		return out + errb, err
	}
	want := "public lookup: key " + key + " (32 bytes); per address 10 at once then 1 every 6s, per code 10 at once then 1 every 5m0s, 100000 tracked of each"
	if out, err := check(nil, "--public-lookup-key", key); err != nil || !strings.Contains(out, want) {
		t.Errorf("serve --check --public-lookup-key = %v\n%s\nwant %q", err, out, want)
	}
	if out, err := check(map[string]string{"HOSO_PUBLIC_LOOKUP_KEY": key}); err != nil || !strings.Contains(out, want) {
		t.Errorf("serve --check with HOSO_PUBLIC_LOOKUP_KEY = %v\n%s", err, out)
	}
	if out, err := check(nil); err != nil || !strings.Contains(out, "public lookup: not offered") {
		t.Errorf("serve --check without a key = %v\n%s; want the lookup not offered", err, out)
	}
	conf := filepath.Join(dir, "public.yaml")
	if err := os.WriteFile(conf, []byte("lookup:\n  per_code: {burst: 3, every: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := check(nil, "--public-lookup-key", key, "--public-config", conf); err != nil || !strings.Contains(out, "per code 3 at once then 1 every 1h0m0s") {
		t.Errorf("serve --check with limits in the public file = %v\n%s", err, out)
	}
	for _, mode := range []os.FileMode{0o400, 0o640, 0o604} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		out, err := check(nil, "--public-lookup-key", key)
		refused := err != nil && strings.Contains(err.Error(), "lets its group or others read it")
		if refused != (mode&0o077 != 0) {
			t.Errorf("serve --check with a key of mode %04o = %v\n%s", mode, err, out)
		}
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte(strings.Repeat("ab", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := check(nil, "--public-lookup-key", short); err == nil || !strings.Contains(err.Error(), "16 bytes, want 32 to 64") {
		t.Errorf("serve --check with a key of 16 bytes = %v, want refused", err)
	}
	if _, _, err := hosoWith(nil, "serve", "--check", "--data-dir", t.TempDir(), "--public-lookup-key", key); err == nil || !strings.Contains(err.Error(), "give --public-addr too") {
		t.Errorf("serve --public-lookup-key without --public-addr = %v, want refused", err)
	}
}
