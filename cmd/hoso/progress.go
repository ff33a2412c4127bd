package main

import (
	"fmt"
	"io"
	"time"
)

// progress reports how far a long command has come (an audit of the
// whole store, a rebuild, a verification against the checkpoints): a line
// at the first report, at most one per interval after it, and one at the
// last; from the second on, with the time left at the rate since the
// first.
type progress struct {
	w        io.Writer
	interval time.Duration
	// line formats a report: done of total, and the time left (0 when it
	// is not known yet, or at the end).
	line func(done, total int, left time.Duration) string
	now  func() time.Time // nil is time.Now

	start   time.Time // of the first report
	atStart int       // done by then
	last    time.Time // of the last line written
}

// report says done of total are done; final says it is the last report.
func (p *progress) report(done, total int, final bool) {
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	first := p.start.IsZero()
	if first {
		p.start, p.atStart = now, done
	}
	if !first && !final && now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	total = max(total, done) // the work grew while it was done
	var left time.Duration
	if rate := float64(done-p.atStart) / now.Sub(p.start).Seconds(); !first && !final && rate > 0 {
		left = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	}
	fmt.Fprintln(p.w, p.line(done, total, left))
}

// progressEvery is how often a long command reports its progress.
const progressEvery = 2 * time.Second

// percent is done of total in whole percent.
func percent(done, total int) int { return done * 100 / max(total, 1) }
