package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A round of performance work is judged against the round before it, and
// on a shared machine whose speed changes from hour to hour only figures
// of the same run compare. With --baseline, every measure that runs hoso
// also runs a hoso binary of the previous release, run by run in turn
// with the current one (run 1 baseline, run 1 current, run 2 baseline,
// ...) on the same stream, so that a noisy period hits both.

// baselineSuffix ends the name of a measure of the baseline binary.
const baselineSuffix = " (baseline)"

// benchBinary is a hoso binary the measures run.
type benchBinary struct {
	path     string
	baseline bool // the previous release's, given by --baseline
}

// name returns the name of the binary's measure of what.
func (b benchBinary) name(what string) string {
	if b.baseline {
		return what + baselineSuffix
	}
	return what
}

// dir returns the name of a work directory of the binary's measure.
func (b benchBinary) dir(format string, args ...any) string {
	d := fmt.Sprintf(format, args...)
	if b.baseline {
		d += "-baseline"
	}
	return d
}

// binaries returns the binaries each measure of hoso runs, in the order
// of each run: the baseline, if any, first.
func (c *benchCommand) binaries() []benchBinary {
	bins := []benchBinary{{path: c.hoso}}
	if c.baseline != "" {
		bins = slices.Insert(bins, 0, benchBinary{path: c.baseline, baseline: true})
	}
	return bins
}

// serveArgs are the arguments of `hoso serve` in the measures: a store in
// dir, the bench's NATS server, the API (and metrics) on addr, no
// deadline scheduler.
func serveArgs(dir, natsURL, addr string, batchMax int) []string {
	return []string{"serve", "--data-dir", dir, "--nats-url", natsURL, "--http-addr", addr,
		"--deadline-interval", "0", "--batch-max", strconv.Itoa(batchMax), "--log-level", "warn"}
}

// rebuildArgs are the arguments of `hoso rebuild` in the measures.
func rebuildArgs(dir, natsURL string) []string {
	return []string{"rebuild", "--data-dir", dir, "--nats-url", natsURL}
}

// usageFlag matches a flag in the usage the flag package prints.
var usageFlag = regexp.MustCompile(`(?m)^\s+-([A-Za-z0-9][A-Za-z0-9-]*)\b`)

// checkFlags checks that the hoso binary at path (named by flagName in
// errors, "--baseline" say) knows every flag the measures pass to its
// subcommands, as its `hoso SUBCOMMAND -h` lists them: a binary of an
// older release may lack one.
func checkFlags(ctx context.Context, flagName, path string) error {
	var missing []string
	for _, args := range [][]string{serveArgs("d", "u", "a", 1), rebuildArgs("d", "u")} {
		sub := args[0]
		out, err := usage(ctx, path, sub)
		if err != nil {
			return fmt.Errorf("%s %s: %w", flagName, path, err)
		}
		known := map[string]bool{}
		for _, m := range usageFlag.FindAllStringSubmatch(out, -1) {
			known[m[1]] = true
		}
		if len(known) == 0 {
			return fmt.Errorf("%s %s: `%s -h` lists no flags: is it a hoso binary?\n%s", flagName, path, sub, strings.TrimSpace(out))
		}
		for _, a := range args[1:] {
			if name, ok := strings.CutPrefix(a, "--"); ok && !known[name] {
				missing = append(missing, fmt.Sprintf("hoso %s --%s", sub, name))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s %s lacks flags the measures pass: %s", flagName, path, strings.Join(missing, ", "))
	}
	return nil
}

// usage returns what `path sub -h` prints. The flag package's usage exits
// with status 2, which is no error here; not ending within 30 s is.
func usage(ctx context.Context, path, sub string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, sub, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("%s -h: %w", sub, ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return "", fmt.Errorf("%s -h: %w", sub, err)
	}
	return out.String(), nil
}
