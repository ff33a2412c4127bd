package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Verifying every chain reads every history page, in key order, which is
// no order at all in the file; bbolt maps the file for random access, so
// from a cold page cache that is one random 4 KiB read per page. Reading
// the whole file ahead, in file order, is many times faster on any disk.
// So a full verification (VerifyAll, or VerifyPage from the first page)
// asks the kernel to read the file into the page cache, in the
// background, when the file fits well in the memory available; the
// verification goes on meanwhile and finds more and more of its pages
// there. (Waiting for the whole file first was slower on a store file
// written by many commits: its pages are not in disk order.)

// prefetchStep is how much of the file one readahead request covers.
// The kernel reads at most the device's readahead window per request
// (read_ahead_kb, 128 KiB by default), so the requests are that small;
// each only queues reads, so the loop runs at the pace of the disk.
const prefetchStep = 128 << 10

// prefetch starts reading the store file into the page cache in the
// background, unless a prefetch is running already, and returns a
// channel closed when the running one ends. The file is read only when
// it fits in half the memory available. Close stops it.
func (db *DB) prefetch() <-chan struct{} {
	db.prefetchMu.Lock()
	defer db.prefetchMu.Unlock()
	if db.prefetchDone != nil {
		return db.prefetchDone
	}
	done := make(chan struct{})
	db.prefetchDone = done
	db.bg.Add(1)
	go func() {
		defer db.bg.Done()
		defer func() {
			db.prefetchMu.Lock()
			db.prefetchDone = nil
			db.prefetchMu.Unlock()
			close(done)
		}()
		start := time.Now()
		n, err := db.readAhead(db.path, db.closing)
		switch {
		case err != nil:
			db.logger.Warn("read the store ahead of verification", "err", err)
		case n > 0:
			db.logger.Info("store read ahead of verification", "bytes", n, "took", time.Since(start).Round(time.Millisecond))
		}
	}()
	return done
}

// prefetchFile asks the kernel to read the file at path into the page
// cache (POSIX_FADV_WILLNEED), prefetchStep at a time from the start,
// until the end or until stop is closed. It returns the bytes it asked
// for: 0 when the file is larger than half the memory available, where
// reading it all would push out pages that are needed.
func prefetchFile(path string, stop <-chan struct{}) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if avail, err := memAvailable(); err != nil || size > avail/2 {
		return 0, err
	}
	var off int64
	for ; off < size; off += prefetchStep {
		if off%(64<<20) == 0 {
			select {
			case <-stop:
				return off, nil
			default:
			}
		}
		if err := unix.Fadvise(int(f.Fd()), off, min(prefetchStep, size-off), unix.FADV_WILLNEED); err != nil {
			return off, fmt.Errorf("fadvise %s: %w", path, err)
		}
	}
	return size, nil
}

// memAvailable returns the kernel's estimate of the memory available for
// new work without swapping (MemAvailable of /proc/meminfo), in bytes.
func memAvailable() (int64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "MemAvailable:" && string(f[2]) == "kB" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemAvailable")
}
