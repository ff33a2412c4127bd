package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

var rebuildRate = regexp.MustCompile(`: (\d+) messages in .*\((\d+) events/s\)`)

// rebuild runs hoso rebuild of the whole stream into a new store.
func (c *benchCommand) rebuild(ctx context.Context, h *benchNATS, dir string) (benchRun, error) {
	p, err := c.start(ctx, "rebuild", "--data-dir", dir, "--nats-url", h.url())
	if err != nil {
		return benchRun{}, err
	}
	defer p.kill()
	run, err := p.wait()
	if err != nil {
		return benchRun{}, err
	}
	m := rebuildRate.FindStringSubmatch(p.stdout.String())
	if m == nil {
		return benchRun{}, fmt.Errorf("rebuild printed no rate: %s", p.output())
	}
	run.rate, _ = strconv.ParseFloat(m[2], 64)
	return run, nil
}
