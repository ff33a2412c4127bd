package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// checkpointServer is a Server with access control over a real store of
// three dossiers received (sequences 1–3) and an unknown action (4, a
// rejection), and the tokens of its users by name.
func checkpointServer(t *testing.T, wrap func(Store) Store) (*httptest.Server, *store.DB, map[string]string) {
	t.Helper()
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "hoso.db"), store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)
	var batch []workflow.Envelope
	for i, action := range []string{"receive", "receive", "receive", "fly"} {
		code := fmt.Sprintf("000.00.12.H57-251001-%04d", min(i, 2)+1)
		e := &workflow.Event{ID: fmt.Sprint(i), SourceURI: "/motcua/test", Source: "test", Action: action, Dossier: code,
			Time: at, Procedure: "1.004227", Agency: "000.00.12.H57", Actor: "canbo-01",
			Due: at.AddDate(0, 0, 10), Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}}
		batch = append(batch, workflow.Envelope{Seq: uint64(i + 1), Subject: "hoso.events.test." + workflow.DossierToken(code), Published: at, Event: e})
	}
	if res, err := db.Apply(context.Background(), batch); err != nil || res.Accepted != 3 || res.Rejected != 1 {
		t.Fatalf("Apply = %+v, %v; want 3 accepted, 1 rejected", res, err)
	}
	tokens := map[string]string{}
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range [][3]string{{"admin", "admin", ""}, {"auditor", "auditor", ""}, {"auditor-scoped", "auditor", "000.00.12.H57"}, {"viewer", "viewer", ""}} {
		tok, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[u[0]] = tok
		fmt.Fprintf(&b, "  - name: %s\n    token_sha256: %s\n    role: %s\n", u[0], hash, u[1])
		if u[2] != "" {
			fmt.Fprintf(&b, "    agencies: [%s]\n", u[2])
		}
	}
	access, err := ParseAccess(strings.NewReader(b.String()), "access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var st Store = db
	if wrap != nil {
		st = wrap(db)
	}
	srv := newTestServer(New(Config{Store: st, Catalog: cat, Access: access}))
	t.Cleanup(srv.Close)
	return srv, db, tokens
}

// getAs GETs path with the user's token ("" for none) and returns the
// status and the body.
func getAs(t *testing.T, srv *httptest.Server, tokens map[string]string, path, user string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[user])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestAuditCheckpoint(t *testing.T) {
	srv, db, tokens := checkpointServer(t, nil)
	ctx := context.Background()
	for _, user := range []string{"auditor", "admin"} {
		code, body := getAs(t, srv, tokens, "/api/v1/audit/checkpoint?seq=2,4,2", user)
		if code != http.StatusOK {
			t.Fatalf("GET audit/checkpoint?seq=2,4,2 as %s = %d %s", user, code, body)
		}
		var got api.Checkpoints
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		want, applied, err := db.CheckpointsAt(ctx, []uint64{2, 4, 2})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(api.Checkpoints{AppliedSeq: applied, Items: want}, got); diff != "" {
			t.Errorf("GET audit/checkpoint?seq=2,4,2 as %s (-want +got):\n%s", user, diff)
		}
		st, err := db.StateHash(ctx)
		if err != nil || got.Items[1].StateHash != st || !got.Items[0].StateHash.IsZero() || got.Items[0].Dossiers != 2 || got.Items[1].Dossiers != 3 {
			t.Errorf("items %+v: want 2 then 3 dossiers, the state hash %s only at the applied 4", got.Items, st)
		}
		for _, it := range got.Items {
			if it.Schema != 7 {
				t.Errorf("item %+v: want schema 7, the store's, for the auditor to compare only checkpoints signed under it", it)
			}
		}
	}
}

func TestAuditCheckpointRefusals(t *testing.T) {
	srv, _, tokens := checkpointServer(t, nil)
	many := strings.TrimSuffix(strings.Repeat("1,", MaxCheckpointSeqs+1), ",")
	tests := []struct {
		path, user string
		status     int
		code       string
	}{
		{"/api/v1/audit/checkpoint?seq=1", "", http.StatusUnauthorized, "unauthenticated"},
		{"/api/v1/audit/checkpoint?seq=1", "viewer", http.StatusForbidden, "forbidden"},
		{"/api/v1/audit/checkpoint?seq=1", "auditor-scoped", http.StatusForbidden, "forbidden"},
		{"/api/v1/audit/checkpoint", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=0", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=-1", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=1,,2", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=x", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=1&seq=2", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=1&cursor=2", "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=" + many, "auditor", http.StatusBadRequest, "bad_parameter"},
		{"/api/v1/audit/checkpoint?seq=4,5", "auditor", http.StatusConflict, "not_applied"},
	}
	for _, tt := range tests {
		code, body := getAs(t, srv, tokens, tt.path, tt.user)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || code != tt.status || e.Error.Code != tt.code {
			t.Errorf("GET %s as %q = %d %s, want %d %s", tt.path, tt.user, code, body, tt.status, tt.code)
		}
	}
	// The most sequences one request takes.
	most := strings.TrimSuffix(strings.Repeat("4,", MaxCheckpointSeqs), ",")
	if code, body := getAs(t, srv, tokens, "/api/v1/audit/checkpoint?seq="+most, "auditor"); code != http.StatusOK {
		t.Errorf("GET audit/checkpoint with %d sequences = %d %s, want 200", MaxCheckpointSeqs, code, body)
	}
}

// TestAuditCheckpointWithoutCheckpoints: a store that does not compute
// checkpoints is answered 501.
func TestAuditCheckpointWithoutCheckpoints(t *testing.T) {
	srv, _, tokens := checkpointServer(t, func(s Store) Store { return struct{ Store }{s} })
	code, body := getAs(t, srv, tokens, "/api/v1/audit/checkpoint?seq=1", "auditor")
	if code != http.StatusNotImplemented || !strings.Contains(string(body), "not_implemented") {
		t.Errorf("GET audit/checkpoint over a store without checkpoints = %d %s, want 501", code, body)
	}
}
