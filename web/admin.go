package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// Admin is what the administration endpoints need of the store.
// store.DB satisfies it.
type Admin interface {
	// State returns the applied stream sequence and the state hash (the
	// outbox excluded), read in one transaction.
	State(ctx context.Context) (applied uint64, hash workflow.Hash, err error)
	// Snapshot writes a consistent copy of the whole store to w from one
	// read transaction, calling start before the first byte with the
	// copy's applied sequence, state hash and size in bytes.
	Snapshot(ctx context.Context, w io.Writer, start func(applied uint64, hash workflow.Hash, size int64)) (int64, error)
}

// Headers of GET /api/v1/admin/backup describing the copy it streams.
const (
	HeaderAppliedSeq = "Hoso-Applied-Seq" // stream sequence the copy has applied
	HeaderStateHash  = "Hoso-State-Hash"  // state hash of the copy, hex
)

func (s *Server) admin() (Admin, error) {
	if s.cfg.Admin == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "not_implemented", msg: "administration is not available on this server"}
	}
	return s.cfg.Admin, nil
}

// adminState answers the applied sequence and the state hash.
func (s *Server) adminState(w http.ResponseWriter, r *http.Request) error {
	a, err := s.admin()
	if err != nil {
		return err
	}
	if _, err := s.query(r); err != nil {
		return err
	}
	applied, hash, err := a.State(r.Context())
	if err != nil {
		return fmt.Errorf("admin state: %w", err)
	}
	st := api.EngineState{AppliedSeq: applied, StateHash: hash.String(), Leader: true}
	if s.cfg.Replica != nil {
		st.Replica, st.Leader = s.cfg.Replica()
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// adminBackup streams a consistent copy of the store while Apply goes on.
func (s *Server) adminBackup(w http.ResponseWriter, r *http.Request) error {
	a, err := s.admin()
	if err != nil {
		return err
	}
	if _, err := s.query(r); err != nil {
		return err
	}
	started := false
	_, err = a.Snapshot(r.Context(), w, func(applied uint64, hash workflow.Hash, size int64) {
		name := "hoso-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set(HeaderAppliedSeq, strconv.FormatUint(applied, 10))
		h.Set(HeaderStateHash, hash.String())
		w.WriteHeader(http.StatusOK)
		started = true
	})
	if err != nil && !started {
		return fmt.Errorf("admin backup: %w", err)
	}
	if err != nil {
		// The status is sent; the client sees a body shorter than its
		// Content-Length and refuses it.
		s.log.Error("admin backup", "request_id", requestID(r), "err", err)
	}
	return nil
}
