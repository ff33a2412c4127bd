package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// publishWay is one way of publishing outcomes to the outcome stream.
type publishWay string

// The ways the publish measure compares, each on chunks of the relay's
// size (publishChunk outcomes, all acknowledged before the next chunk is
// taken, as the relay marks a chunk published only once every outcome of
// it is acknowledged).
const (
	// publishAsync is the relay's way: an asynchronous publish per
	// outcome, at most publishInFlight awaiting their PubAck.
	publishAsync publishWay = "async"
	// publishFast is a fast-ingest batch per chunk (nats-server 2.14+,
	// allow_batched): the server acks every few messages and the commit.
	publishFast publishWay = "fast-batch"
	// publishAtomic is an atomic batch per chunk (nats-server 2.12+,
	// allow_atomic), split at the server's limit of 1,000 messages.
	publishAtomic publishWay = "atomic-batch"
)

// publishWhat describes each way's measure in the report.
var publishWhat = map[publishWay]string{
	publishAsync:  "outcomes only, no consumer: async publish per outcome, 256 awaiting PubAck, chunks of 1,024 (the relay's way); CPU is the bench process's, NATS server included",
	publishFast:   "outcomes only: one fast-ingest batch (allow_batched) per chunk of 1,024; CPU as publish-async",
	publishAtomic: "outcomes only: atomic batches (allow_atomic) of at most 1,000 per chunk of 1,024; CPU as publish-async",
}

// publishWays are the ways the suite measures, in its order.
var publishWays = []publishWay{publishAsync, publishFast, publishAtomic}

// Sizes of the publish measure, the relay's (events/relay.go).
const (
	publishChunk    = 1024 // outcomes taken at a time
	publishInFlight = 256  // async publishes awaiting their PubAck
	atomicMax       = 1000 // the server's most messages in an atomic batch
)

// publishRun is what one publish measure measured.
type publishRun struct {
	rate float64 // outcomes/s
	cpu  float64 // seconds of CPU of this process: the client and the in-process NATS server
}

// publishOutcomes publishes n outcomes, each with its own Nats-Msg-Id as
// the relay sets it, to a new outcome stream that allows both kinds of
// batch, the way way says, and returns the outcomes/s from the first
// publish to the last acknowledgement and the CPU the process spent (the
// NATS server runs in it). It then checks that the stream holds exactly n.
func (h *benchNATS) publishOutcomes(ctx context.Context, way publishWay, n int) (publishRun, error) {
	if err := h.reset(ctx); err != nil {
		return publishRun{}, err
	}
	defer h.reset(context.WithoutCancel(ctx))
	if _, err := events.Setup(ctx, h.js, events.StreamConfig{}); err != nil {
		return publishRun{}, err
	}
	st, err := h.js.Stream(ctx, events.OutcomesStream)
	if err != nil {
		return publishRun{}, err
	}
	cfg := st.CachedInfo().Config
	cfg.AllowBatchPublish, cfg.AllowAtomicPublish = true, true
	if _, err := h.js.UpdateStream(ctx, cfg); err != nil {
		return publishRun{}, fmt.Errorf("allow batches on %s: %w", events.OutcomesStream, err)
	}
	msgs, err := outcomeMsgs(n)
	if err != nil {
		return publishRun{}, err
	}
	cpu0 := processCPU()
	began := time.Now()
	for i := 0; i < n; i += publishChunk {
		chunk := msgs[i:min(i+publishChunk, n)]
		switch way {
		case publishAsync:
			err = h.publishAsync(ctx, chunk)
		case publishFast:
			err = h.publishFast(ctx, chunk)
		case publishAtomic:
			for j := 0; j < len(chunk) && err == nil; j += atomicMax {
				_, err = jetstreamext.PublishMsgBatch(ctx, h.js, chunk[j:min(j+atomicMax, len(chunk))])
			}
		default:
			err = fmt.Errorf("no publish way %q", way)
		}
		if err != nil {
			return publishRun{}, fmt.Errorf("%s: outcomes %d–%d: %w", way, i+1, i+len(chunk), err)
		}
	}
	run := publishRun{rate: perSecond(n, time.Since(began)), cpu: processCPU() - cpu0}
	info, err := st.Info(ctx)
	if err != nil {
		return publishRun{}, err
	}
	if info.State.Msgs != uint64(n) {
		return publishRun{}, fmt.Errorf("%s: the stream holds %d outcomes, published %d", way, info.State.Msgs, n)
	}
	return run, nil
}

// publishAsync publishes msgs as the relay does and waits for every
// acknowledgement.
func (h *benchNATS) publishAsync(ctx context.Context, msgs []*nats.Msg) error {
	window := make([]jetstream.PubAckFuture, 0, publishInFlight)
	await := func() error {
		f := window[0]
		window = window[1:]
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return errors.New("no acknowledgement")
		}
	}
	for _, m := range msgs {
		if len(window) == publishInFlight {
			if err := await(); err != nil {
				return err
			}
		}
		f, err := h.js.PublishMsgAsync(m, jetstream.WithExpectStream(events.OutcomesStream))
		if err != nil {
			return err
		}
		window = append(window, f)
	}
	for len(window) > 0 {
		if err := await(); err != nil {
			return err
		}
	}
	return nil
}

// publishFast publishes msgs as one fast-ingest batch, committed with the
// last message, and checks that the commit covers them all.
func (h *benchNATS) publishFast(ctx context.Context, msgs []*nats.Msg) error {
	fp, err := jetstreamext.NewFastPublisher(h.js)
	if err != nil {
		return err
	}
	last := len(msgs) - 1
	for _, m := range msgs[:last] {
		if _, err := fp.AddMsg(m); err != nil {
			return err
		}
	}
	ack, err := fp.CommitMsg(ctx, msgs[last])
	if err != nil {
		return err
	}
	if ack.BatchSize != uint64(len(msgs)) {
		return fmt.Errorf("batch committed %d messages, published %d", ack.BatchSize, len(msgs))
	}
	return nil
}

// outcomeMsgs returns n outcome messages as the relay publishes them: one
// accepted outcome's JSON, each with the Nats-Msg-Id of its own event.
func outcomeMsgs(n int) ([]*nats.Msg, error) {
	due, index := time.Date(2026, 12, 10, 17, 0, 0, 0, workflow.Zone), 1
	o := workflow.Outcome{
		Kind: workflow.OutcomeAccepted, EventID: "8a6e0804-2bd0-4672-b79d-d97027f9071a", Source: "tayninh",
		Dossier: "000.00.12.H57-261125-0001", Action: "assign", Status: workflow.StatusProcessing, StatusName: "Đang xử lý",
		PreviousStatus: workflow.StatusReceived, Due: &due, HistoryIndex: &index, Time: due.AddDate(0, 0, -10),
	}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	subject := events.OutcomeSubject(o.Kind, o.Source, o.Dossier)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: subject, Data: data, Header: nats.Header{
			jetstream.MsgIDHeader: []string{fmt.Sprintf("%s@%d", o.EventID, i+1)},
		}}
	}
	return msgs, nil
}

// processCPU returns the CPU time (user and system) this process has
// spent, in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}
