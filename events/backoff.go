package events

import (
	"context"
	"time"
)

// Retry delays of the consumer and the relay.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// backoff is an exponential retry delay: minRetryDelay, doubling up to
// maxRetryDelay. The zero value is ready to use.
type backoff struct {
	next time.Duration // delay of the next wait; 0 means minRetryDelay
}

// wait sleeps for the next delay and reports whether it did; it returns
// false at once when ctx ends.
func (b *backoff) wait(ctx context.Context) bool {
	d := max(b.next, minRetryDelay)
	b.next = min(2*d, maxRetryDelay)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reset makes the next delay minRetryDelay again.
func (b *backoff) reset() { b.next = 0 }
