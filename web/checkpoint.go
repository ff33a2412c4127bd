package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// Checkpoints is what GET /api/v1/audit/checkpoint needs of the store: the
// checkpoints recomputed as of earlier stream sequences (store.DB
// satisfies it). The route answers when Config.Store implements it, and
// 501 otherwise.
type Checkpoints interface {
	// CheckpointsAt recomputes, in one read transaction, the checkpoints
	// as of each sequence of seqs, in their order, and returns the
	// applied sequence with them; a sequence past the applied one is an
	// error (and applied says why).
	CheckpointsAt(ctx context.Context, seqs []uint64) (cps []workflow.Checkpoint, applied uint64, err error)
}

// MaxCheckpointSeqs is the most sequences one GET /api/v1/audit/checkpoint
// recomputes (one walk of the store for all of them).
const MaxCheckpointSeqs = 20

// auditCheckpoint recomputes the checkpoints as of the sequences of the
// seq parameter (comma-separated), for an auditor to compare with the
// signed checkpoints of HOSO_CHECKPOINTS.
func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request) error {
	src, ok := s.cfg.Store.(Checkpoints)
	if !ok {
		return &apiError{status: http.StatusNotImplemented, code: "not_implemented", msg: "this server's store does not compute checkpoints"}
	}
	q, err := s.query(r)
	if err != nil {
		return err
	}
	seqs, err := checkpointSeqs(q.value("seq"))
	if err != nil {
		return err
	}
	cps, applied, err := src.CheckpointsAt(r.Context(), seqs)
	if err != nil {
		if slices.Max(seqs) > applied {
			return &apiError{status: http.StatusConflict, code: "not_applied",
				msg: fmt.Sprintf("the store has applied the stream up to %d, not up to %d", applied, slices.Max(seqs))}
		}
		return err
	}
	writeJSON(w, http.StatusOK, api.Checkpoints{AppliedSeq: applied, Items: cps})
	return nil
}

// checkpointSeqs parses the seq parameter: 1 to MaxCheckpointSeqs
// positive decimal sequences, comma-separated.
func checkpointSeqs(v string) ([]uint64, error) {
	if v == "" {
		return nil, badParam("seq", "required: the stream sequence of a checkpoint, or up to %d comma-separated", MaxCheckpointSeqs)
	}
	parts := strings.Split(v, ",")
	if len(parts) > MaxCheckpointSeqs {
		return nil, badParam("seq", "%d sequences; give at most %d", len(parts), MaxCheckpointSeqs)
	}
	seqs := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || n == 0 {
			return nil, badParam("seq", "%q is not a stream sequence (a positive whole number)", clip(p))
		}
		seqs[i] = n
	}
	return seqs, nil
}
