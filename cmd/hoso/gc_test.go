package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestSetGC checks serve's garbage-collector settings: applied when the
// environment sets none, left alone when it does.
func TestSetGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}()
	setGC(noEnv)
	if p := debug.SetGCPercent(100); p != serveGCPercent {
		t.Errorf("GC percent %d, want %d", p, serveGCPercent)
	}
	if l := debug.SetMemoryLimit(math.MaxInt64); l != serveMemoryLimit {
		t.Errorf("memory limit %d, want %d", l, serveMemoryLimit)
	}
	setGC(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}[k] })
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left at 100", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set, want it left alone", l)
	}
}
