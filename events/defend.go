package events

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watch checks the durable's configuration every CheckInterval while the
// session runs, and ends the session (s.drift) when it changed.
func (c *Consumer) watch(ctx context.Context, s *session) {
	t := time.NewTicker(c.check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		diff, err := c.drifted(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("check consumer", "stream", c.stream, "consumer", c.name, "err", err)
			}
			continue
		}
		if diff != "" {
			c.reportDrift(diff)
			close(s.drift)
			return
		}
	}
}

// defend checks the durable's configuration and restores it if it
// changed, recreating the durable when it was deleted or when an update
// cannot restore it. It returns an error only if the configuration is
// still not the one set up.
func (c *Consumer) defend(ctx context.Context) error {
	diff, err := c.drifted(ctx)
	if err != nil {
		return err
	}
	if diff == "" {
		return nil
	}
	c.reportDrift(diff)
	c.ready.Store(false)
	rctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	cons, err := c.js.UpdateConsumer(rctx, c.stream, c.want)
	if err != nil {
		// Deleted, or changed in a way an update cannot undo (another
		// deliver or ack policy): recreate it. The session rewinds it to
		// the next sequence to apply, so its ack floor is not needed.
		if derr := c.js.DeleteConsumer(rctx, c.stream, c.name); derr != nil && !errors.Is(derr, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("restore consumer %s: update: %w; delete: %w", c.name, err, derr)
		}
		if cons, err = c.js.CreateConsumer(rctx, c.stream, c.want); err != nil {
			return fmt.Errorf("restore consumer %s: %w", c.name, err)
		}
	}
	c.cons = cons
	if diff, err := c.drifted(ctx); err != nil || diff != "" {
		return fmt.Errorf("restore consumer %s: still %s (%v)", c.name, diff, err)
	}
	c.log.Warn("consumer configuration restored", "stream", c.stream, "consumer", c.name)
	return nil
}

func (c *Consumer) reportDrift(diff string) {
	c.log.Error("consumer configuration changed", "stream", c.stream, "consumer", c.name, "change", diff)
	if c.onDrift != nil {
		c.onDrift(diff)
	}
}

// drifted returns how the durable's configuration on the server differs
// from the one set up ("deleted" if it is gone), or "" if it does not.
func (c *Consumer) drifted(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	cons, err := c.js.Consumer(cctx, c.stream, c.name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return "deleted", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up consumer %s: %w", c.name, err)
	}
	return configDiff(c.want, cons.CachedInfo().Config), nil
}

// configDiff names the fields in which got differs from want, with both
// values: every field of the configuration but Metadata, which the server
// writes itself. want must name every field the server would otherwise
// fill in (Name, MaxWaiting).
func configDiff(want, got jetstream.ConsumerConfig) string {
	var diffs []string
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		if f.Name == "Metadata" {
			continue
		}
		w, g := wv.Field(i), gv.Field(i)
		if w.Kind() == reflect.Slice && w.Len() == 0 && g.Len() == 0 {
			continue // the server answers [] for none
		}
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", f.Name, show(g.Interface()), show(w.Interface())))
		}
	}
	return strings.Join(diffs, "; ")
}

// show prints a configuration value, following pointers.
func show(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "none"
		}
		return rv.Elem().Interface()
	}
	return v
}

// streamGone reports whether every sequence in [from, to) is no longer in
// the stream: below its first sequence or deleted. The Consumer and Replay
// both check a jump in stream sequence with it.
func streamGone(ctx context.Context, js jetstream.JetStream, stream string, from, to uint64) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	str, err := js.Stream(cctx, stream)
	if err != nil {
		return false, fmt.Errorf("look up stream %s: %w", stream, err)
	}
	info, err := str.Info(cctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return false, fmt.Errorf("stream %s info: %w", stream, err)
	}
	deleted := make(map[uint64]bool)
	for _, seq := range info.State.Deleted {
		if seq >= from && seq < to {
			deleted[seq] = true
		}
	}
	for seq := max(from, info.State.FirstSeq); seq < to; seq++ {
		if !deleted[seq] {
			return false, nil
		}
	}
	return true, nil
}
