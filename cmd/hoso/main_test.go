package main

import (
	"errors"
	"flag"
	"fmt"
	"testing"
)

// TestExitCode: the exit status of every kind of error run returns, an
// exitError wrapped by a command included (it panicked main before).
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 2},
		{fmt.Errorf("parse: %w", flag.ErrHelp), 2},
		{exitError(3), 3},
		{fmt.Errorf("reconcile: %w", exitError(2)), 2},
		{errors.New("boom"), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
