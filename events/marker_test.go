package events

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// markLog is an Outbox that records the marks it is given; its first fail
// calls to MarkPublished fail.
type markLog struct {
	mu    sync.Mutex
	marks []uint64
	fail  int
}

func (o *markLog) PendingOutcomes(context.Context, uint64, int) ([]workflow.Outcome, error) {
	return nil, nil
}

func (o *markLog) MarkPublished(_ context.Context, upTo uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail > 0 {
		o.fail--
		return errors.New("disk full")
	}
	o.marks = append(o.marks, upTo)
	return nil
}

func (o *markLog) get() []uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.marks)
}

// TestMarkerCoalesces checks that the relay's marker records a steady run
// of confirmations a few times a second, not once each; retries a failed
// mark; and records the last confirmation when it stops.
func TestMarkerCoalesces(t *testing.T) {
	ob := &markLog{fail: 1}
	m := &marker{ob: ob, log: slog.New(slog.DiscardHandler), wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.run(ctx)
	}()
	start := time.Now()
	for seq := uint64(1); seq <= 300; seq++ {
		m.set(seq)
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	<-done
	marks := ob.get()
	if len(marks) == 0 || marks[len(marks)-1] != 300 {
		t.Fatalf("marks %v: the last is not 300", marks)
	}
	if !slices.IsSorted(marks) {
		t.Errorf("marks %v: not increasing", marks)
	}
	// One mark per interval, plus the failed one's retry and the last.
	if most := int(took/markInterval) + 3; len(marks) > most {
		t.Errorf("%d marks in %s, want at most %d: %v", len(marks), took, most, marks)
	}
}
