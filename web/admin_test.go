package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// fileAdmin serves a fixed file as the store.
type fileAdmin struct {
	data    []byte
	applied uint64
	hash    workflow.Hash
	failAt  int // bytes after which Snapshot fails; 0 never
}

func (a *fileAdmin) State(context.Context) (uint64, workflow.Hash, error) {
	return a.applied, a.hash, nil
}

func (a *fileAdmin) Snapshot(_ context.Context, w io.Writer, start func(uint64, workflow.Hash, int64)) (int64, error) {
	start(a.applied, a.hash, int64(len(a.data)))
	if a.failAt > 0 {
		n, _ := w.Write(a.data[:a.failAt])
		return int64(n), errors.New("disk on fire")
	}
	n, err := w.Write(a.data)
	return int64(n), err
}

func TestAdminRoutes(t *testing.T) {
	admin := &fileAdmin{data: []byte("a bbolt file"), applied: 42, hash: workflow.Hash{1, 2, 3}}
	srv := newTestServer(New(Config{Admin: admin}))
	defer srv.Close()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	resp, body := get("/api/v1/admin/state")
	var st api.EngineState
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || st != (api.EngineState{AppliedSeq: 42, StateHash: admin.hash.String(), Leader: true}) {
		t.Errorf("GET /api/v1/admin/state = %d %s, want 200 with sequence 42, the hash, leading (alone)", resp.StatusCode, body)
	}
	resp, body = get("/api/v1/admin/backup")
	if resp.StatusCode != 200 || string(body) != "a bbolt file" ||
		resp.Header.Get(HeaderAppliedSeq) != "42" || resp.Header.Get(HeaderStateHash) != admin.hash.String() ||
		resp.Header.Get("Content-Type") != "application/octet-stream" || resp.Header.Get("Content-Disposition") == "" {
		t.Errorf("GET /api/v1/admin/backup = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	for _, path := range []string{"/api/v1/admin/state?x=1", "/api/v1/admin/backup?x=1"} {
		if resp, body := get(path); resp.StatusCode != 400 {
			t.Errorf("GET %s = %d %s, want 400", path, resp.StatusCode, body)
		}
	}

	// A copy that fails midway is cut short of its Content-Length: the
	// client sees an error, never a short file that looks whole.
	admin.failAt = 3
	if resp, err := http.Get(srv.URL + "/api/v1/admin/backup"); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Error("a backup that failed midway read without error")
		}
	}

	bare := newTestServer(New(Config{}))
	defer bare.Close()
	for _, path := range []string{"/api/v1/admin/state", "/api/v1/admin/backup"} {
		resp, err := http.Get(bare.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("GET %s without Admin = %d, want 501", path, resp.StatusCode)
		}
	}
}
