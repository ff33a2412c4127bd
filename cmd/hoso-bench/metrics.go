package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// batchMeans is what hoso serve's metrics say of its batches: the mean
// size, and the mean time of a batch's Apply and of its commit within.
type batchMeans struct {
	MeanBatch  float64       `json:"mean_batch,omitempty"`
	MeanApply  time.Duration `json:"mean_apply_ns,omitempty"`
	MeanCommit time.Duration `json:"mean_commit_ns,omitempty"`
}

// batchMetrics is what serve's metrics say of its batches.
type batchMetrics struct {
	batches       float64
	events        float64 // hoso_batch_size_sum
	apply, commit float64 // seconds, sums
}

// means returns the means of the metrics (scrapeBatches makes sure there
// was a batch).
func (m batchMetrics) means() batchMeans {
	return batchMeans{MeanBatch: m.events / m.batches, MeanApply: time.Duration(m.apply / m.batches * float64(time.Second)),
		MeanCommit: time.Duration(m.commit / m.batches * float64(time.Second))}
}

// setBatches sets the measure's batch means to the medians of its runs'.
func (r *benchRate) setBatches(bms []batchMetrics) {
	var size, apply, commit []float64
	for _, b := range bms {
		m := b.means()
		size, apply, commit = append(size, m.MeanBatch), append(apply, float64(m.MeanApply)), append(commit, float64(m.MeanCommit))
	}
	r.MeanBatch = median(size)
	r.MeanApply, r.MeanCommit = time.Duration(median(apply)), time.Duration(median(commit))
}

// scrapeBatches reads the batch histograms' sums and counts from serve's
// Prometheus metrics.
func scrapeBatches(ctx context.Context, u string) (batchMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return batchMetrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return batchMetrics{}, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return batchMetrics{}, fmt.Errorf("metrics: %w", err)
	}
	var m batchMetrics
	for line := range strings.SplitSeq(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "hoso_batch_size_count":
			m.batches = v
		case "hoso_batch_size_sum":
			m.events = v
		case "hoso_batch_apply_seconds_sum":
			m.apply = v
		case "hoso_batch_commit_seconds_sum":
			m.commit = v
		}
	}
	if m.batches == 0 {
		return m, fmt.Errorf("metrics at %s: no hoso_batch_size_count", u)
	}
	return m, nil
}
