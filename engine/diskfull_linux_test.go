//go:build linux

package engine_test

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestDiskFull runs an engine as a process of its own and, midway
// through a stream, caps the size of the files it may write at the store
// file's current size (RLIMIT_FSIZE, as a full disk would): the store
// cannot grow, commits fail with EFBIG, /readyz answers 503, the log and
// hoso_apply_errors_total show it. Once the cap is lifted hoso resumes by
// itself and every event is applied exactly once.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store")
	}
	srv := startNATSServer(t)
	_, js := testutil.Connect(t, srv.ClientURL())

	sc := testutil.NewScenario(400, 3)
	first := len(sc.Messages) / 10
	storedFirst := testutil.StoredOf(sc.Messages[:first])
	dir := t.TempDir()
	httpAddr, err := testutil.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(dir)
	cfg.HTTPAddr = httpAddr
	cfg.NATSURL = srv.ClientURL()
	cfg.LogLevel = "info"
	c := testutil.StartProcess(t, cfg)
	var logMu sync.Mutex
	var logs []string
	go func() {
		for m := range c.Messages() {
			logMu.Lock()
			logs = append(logs, m)
			logMu.Unlock()
		}
	}()
	base := "http://" + httpAddr
	testutil.WaitReady(t, base, http.StatusOK)
	testutil.Publish(t, js, sc.Messages[:first])
	testutil.WaitOutcomes(t, js, uint64(storedFirst), time.Minute)

	fi, err := os.Stat(filepath.Join(dir, "hoso.db"))
	if err != nil {
		t.Fatal(err)
	}
	setFileSizeLimit(t, c.Pid(), uint64(fi.Size()))
	testutil.Publish(t, js, sc.Messages[first:])
	testutil.WaitReady(t, base, http.StatusServiceUnavailable)
	var m map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if m = testutil.Scrape(t, base); m["hoso_apply_errors_total"] >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hoso_apply_errors_total = %v after 30s, want at least 2", m["hoso_apply_errors_total"])
		}
	}
	t.Logf("store full at %d bytes after %v of %d messages", fi.Size(), m["hoso_applied_sequence"], sc.Stored())
	logMu.Lock()
	failed := false
	for _, l := range logs {
		failed = failed || l == "apply batch"
	}
	logMu.Unlock()
	if !failed {
		t.Errorf("no \"apply batch\" error in the log")
	}

	setFileSizeLimit(t, c.Pid(), math.MaxUint64)
	testutil.WaitOutcomes(t, js, uint64(sc.Stored()), time.Minute)
	testutil.WaitReady(t, base, http.StatusOK)
	testutil.ReadOutcomes(t, js, sc.Stored())
	c.Signal(t, syscall.SIGTERM)
	if err := c.Wait(); err != nil {
		t.Fatalf("hoso exited with %v after SIGTERM", err)
	}
	checkBolt(t, filepath.Join(dir, "hoso.db"))
	testutil.CheckStore(t, filepath.Join(dir, "hoso.db"), sc)
}

// setFileSizeLimit sets the soft RLIMIT_FSIZE of process pid (prlimit(2)):
// writes past limit bytes then fail with EFBIG.
func setFileSizeLimit(t *testing.T, pid int, limit uint64) {
	t.Helper()
	var old syscall.Rlimit
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, 0, uintptr(unsafe.Pointer(&old)), 0, 0); e != 0 {
		t.Fatalf("prlimit: %v", e)
	}
	lim := syscall.Rlimit{Cur: limit, Max: old.Max}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		t.Fatalf("prlimit: %v", e)
	}
}
