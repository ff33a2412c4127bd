package store

import (
	"context"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident returns the fraction of the file's pages in the page cache.
func resident(t *testing.T, path string) float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return float64(in) / float64(len(vec))
}

// dropFromCache writes the file's dirty pages and drops them all from the
// page cache.
func dropFromCache(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyPrefetchesTheFile: the first page of a full verification
// reads the store file into the page cache in the background, and the
// verification still reports every chain sound.
func TestVerifyPrefetchesTheFile(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	s := &benchStream{active: 2000}
	for range 20 {
		h.apply(s.next(500)) // 10,000 events over 2,000 dossiers in flight
	}
	h.reopen()
	dropFromCache(t, h.path)
	if r := resident(t, h.path); r > 0.5 {
		t.Fatalf("%.0f%% of the file is still cached after dropping it: the test cannot see a prefetch", 100*r)
	}
	reports, next, err := h.db.VerifyPage(ctx, "", MaxLimit)
	if err != nil || len(reports) == 0 || next == "" {
		t.Fatalf("VerifyPage = %d reports, next %q, %v", len(reports), next, err)
	}
	for _, r := range reports {
		if !r.OK {
			t.Errorf("chain of %s: %+v", r.Dossier, r)
		}
	}
	// Nearly all: on a machine busy with other tests the kernel may evict
	// a few of the pages read meanwhile.
	deadline := time.Now().Add(10 * time.Second)
	for resident(t, h.path) < 0.95 {
		if time.Now().After(deadline) {
			t.Fatalf("%.1f%% of the file cached 10s after the first page of a verification, want nearly all", 100*resident(t, h.path))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := h.db.VerifyPage(ctx, next, 10); err != nil {
		t.Fatal(err)
	}
}

// TestPrefetchStops: a prefetch stops when told to, and Close stops one
// that runs.
func TestPrefetchStops(t *testing.T) {
	h := newHarness(t, nil)
	h.apply(h.envelopes(standardFlow(code1, 0)...))
	stop := make(chan struct{})
	close(stop)
	if n, err := prefetchFile(h.path, stop); n != 0 || err != nil {
		t.Errorf("prefetchFile with stop closed = %d, %v; want 0, nil", n, err)
	}
	if n, err := prefetchFile(h.path, nil); err != nil || n == 0 {
		t.Errorf("prefetchFile = %d, %v; want the file's size", n, err)
	}
	// A read-ahead that runs until Close, like one of a large file.
	started := make(chan struct{})
	h.db.readAhead = func(_ string, stop <-chan struct{}) (int64, error) {
		close(started)
		<-stop
		return 0, nil
	}
	done := h.db.prefetch()
	<-started
	if again := h.db.prefetch(); again != done {
		t.Error("a second prefetch started while one runs")
	}
	closed := make(chan error, 1)
	go func() { closed <- h.db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the running prefetch")
	}
	select {
	case <-done:
	default:
		t.Error("Close returned while a prefetch runs")
	}
	h.open()
}
