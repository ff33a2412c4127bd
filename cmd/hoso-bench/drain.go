package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// drain runs serve of the hoso binary bin on a fresh store against the
// pre-filled stream of total messages until want outcomes are published,
// and returns the events/s from the first outcome to the last.
func drain(ctx context.Context, bin string, h *benchNATS, dir string, total, want, batchMax int) (benchRun, error) {
	if err := h.reset(ctx); err != nil {
		return benchRun{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return benchRun{}, err
	}
	p, err := start(ctx, bin, serveArgs(dir, h.url(), addr, batchMax)...)
	if err != nil {
		return benchRun{}, err
	}
	defer p.kill()
	info, err := h.waitOutcomes(ctx, p, want)
	if err != nil {
		return benchRun{}, err
	}
	bm, err := scrapeBatches(ctx, "http://"+addr+"/metrics")
	if err != nil {
		return benchRun{}, err
	}
	run, err := p.stop()
	if err != nil {
		return benchRun{}, err
	}
	if want == total {
		// Every message has exactly one outcome: no more once serve has
		// stopped.
		st, err := h.js.Stream(ctx, events.OutcomesStream)
		if err != nil {
			return benchRun{}, err
		}
		if info, err = st.Info(ctx); err != nil {
			return benchRun{}, err
		}
		if info.State.Msgs != uint64(total) {
			return benchRun{}, fmt.Errorf("%d outcomes for %d events", info.State.Msgs, total)
		}
	}
	run.batch = bm
	run.rate = perSecond(int(info.State.Msgs)-1, info.State.LastTime.Sub(info.State.FirstTime))
	return run, nil
}

// waitOutcomes waits until the outcome stream holds at least want
// messages.
func (h *benchNATS) waitOutcomes(ctx context.Context, p *benchProcess, want int) (*jetstream.StreamInfo, error) {
	var info *jetstream.StreamInfo
	err := p.waitFor(ctx, 2*time.Minute+time.Duration(want)*2*time.Millisecond, fmt.Sprintf("%d outcomes", want), func() bool {
		st, err := h.js.Stream(ctx, events.OutcomesStream)
		if err == nil {
			info, err = st.Info(ctx)
		}
		return err == nil && info.State.Msgs >= uint64(want)
	})
	return info, err
}
