package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

var rebuildRate = regexp.MustCompile(`: (\d+) messages in .*\((\d+) events/s\)`)

// rebuild runs hoso rebuild of the hoso binary bin, of the whole stream
// into a new store.
func rebuild(ctx context.Context, bin string, h *benchNATS, dir string) (benchRun, error) {
	p, err := start(ctx, bin, rebuildArgs(dir, h.url())...)
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
