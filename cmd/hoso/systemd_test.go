package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readKeyValues reads the KEY=value lines of a systemd unit or
// environment file, skipping comments and section headers; a key given
// more than once keeps every value.
func readKeyValues(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string][]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: %q is not KEY=value", path, n, line)
		}
		kv[k] = append(kv[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestSystemdUnit checks configs/systemd against serve: the unit runs
// `hoso serve` with what its environment file sets, every variable of
// that file is one serve reads and together they make a valid
// configuration, the data directory is the unit's state directory, the
// unit gives a clean shutdown the time it may take, reload checks the
// files and then sends SIGHUP, and systemd-analyze finds nothing wrong
// with it.
func TestSystemdUnit(t *testing.T) {
	unit := readKeyValues(t, "../../configs/systemd/hoso.service")
	env := readKeyValues(t, "../../configs/systemd/hoso.env")
	one := func(kv map[string][]string, k string) string {
		t.Helper()
		if len(kv[k]) != 1 {
			t.Fatalf("%s: %d values, want one", k, len(kv[k]))
		}
		return kv[k][0]
	}

	execArgs := strings.Fields(one(unit, "ExecStart"))
	if len(execArgs) < 2 || !strings.HasSuffix(execArgs[0], "/hoso") || execArgs[1] != "serve" {
		t.Fatalf("ExecStart = %q, want hoso serve", execArgs)
	}
	read := map[string]bool{}
	getenv := func(k string) string {
		read[k] = true
		if v, ok := env[k]; ok {
			return v[len(v)-1]
		}
		return ""
	}
	cfg, err := parseServe(execArgs[2:], getenv, io.Discard)
	if err != nil {
		t.Fatalf("serve with the unit's arguments and environment: %v", err)
	}
	for k := range env {
		if !read[k] {
			t.Errorf("hoso.env sets %s, which serve does not read", k)
		}
	}
	if want := "/var/lib/" + one(unit, "StateDirectory"); cfg.DataDir != want {
		t.Errorf("data dir %q, want the unit's state directory %q", cfg.DataDir, want)
	}
	if cfg.Access == "" || cfg.NATSUsers == "" || cfg.TLSCert == "" {
		t.Errorf("the environment leaves the access file, the NATS users or TLS unset: %+v", cfg)
	}
	stop, err := time.ParseDuration(one(unit, "TimeoutStopSec") + "s")
	if err != nil || stop <= cfg.Shutdown {
		t.Errorf("TimeoutStopSec %v, want more than serve's shutdown timeout %v", stop, cfg.Shutdown)
	}
	if r := unit["ExecReload"]; len(r) != 2 || r[0] != execArgs[0]+" serve --check" || !strings.Contains(r[1], "kill -HUP $MAINPID") {
		t.Errorf("ExecReload = %q, want serve --check, then SIGHUP", r)
	}
	if !slices.Contains(unit["EnvironmentFile"], "/etc/hoso/hoso.env") {
		t.Errorf("EnvironmentFile = %q, want /etc/hoso/hoso.env", unit["EnvironmentFile"])
	}

	// systemd's own check of the unit's directives, where systemd is
	// installed (Debian's systemd package), with ExecStart pointed at an
	// executable that exists.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit's directives are checked by the assertions above only")
		return
	}
	data, err := os.ReadFile("../../configs/systemd/hoso.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hoso.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), execArgs[0], self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", "--generators=no", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify hoso.service: %v\n%s", err, out)
	}
}
