package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/store"
	"github.com/hoso-vn/hoso/workflow"
)

// verifyServer serves a real store of three dossiers in progress (status
// 4) after tamper, given the bbolt file, has changed it.
func verifyServer(t *testing.T, tamper func(tx *bbolt.Tx) error) *httptest.Server {
	t.Helper()
	cat, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hoso.db")
	db, err := store.Open(path, store.Options{Catalog: cat, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 10, 1, 9, 0, 0, 0, workflow.Zone)
	var batch []workflow.Envelope
	for i := range 3 {
		code := fmt.Sprintf("000.00.12.H57-251001-%04d", i+1)
		for k, action := range []string{"receive", "assign"} {
			e := &workflow.Event{ID: fmt.Sprintf("%d/%d", i, k), SourceURI: "/motcua/test", Source: "test", Action: action, Dossier: code,
				Time: at.Add(time.Duration(k) * time.Hour), Procedure: "1.004227", Agency: "000.00.12.H57", Actor: "canbo-01", Department: "phong-tn",
				Due: at.AddDate(0, 0, 10), Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}}
			batch = append(batch, workflow.Envelope{Seq: uint64(len(batch) + 1), Subject: "hoso.events.test." + workflow.DossierToken(code), Published: at, Event: e})
		}
	}
	if res, err := db.Apply(context.Background(), batch); err != nil || res.Accepted != len(batch) {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		b, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Update(tamper); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	if db, err = store.Open(path, store.Options{Catalog: cat, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := newTestServer(New(Config{Store: db, Catalog: cat}))
	t.Cleanup(srv.Close)
	return srv
}

// getJSON GETs path and decodes the JSON answer into v.
func getJSON(t *testing.T, srv *httptest.Server, path string, v any) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// TestVerifyAPINamesAnEditedRecord changes a dossier's status in its
// record (4 to 10), leaving its history, and checks that both verify
// endpoints name it.
func TestVerifyAPINamesAnEditedRecord(t *testing.T) {
	const code = "000.00.12.H57-251001-0002"
	srv := verifyServer(t, editStatus(code))
	var rep workflow.ChainReport
	getJSON(t, srv, "/api/v1/dossiers/"+code+"/verify", &rep)
	if rep.OK || !slices.ContainsFunc(rep.Findings, func(f workflow.Finding) bool {
		return f.Field == "status" && f.Want == "4" && f.Got == "10"
	}) {
		t.Errorf("verify %s = %+v, want status named: 4 in history, 10 in the record", code, rep)
	}
	var page api.AuditPage
	getJSON(t, srv, "/api/v1/audit/verify", &page)
	if page.Checked != 3 || page.Total != 3 || len(page.Items) != 1 || page.Items[0].Dossier != code || page.Items[0].OK {
		t.Errorf("audit verify = %+v, want %s among 3 checked", page, code)
	}
	if !slices.ContainsFunc(page.Store, func(f workflow.Finding) bool {
		return f.Bucket == "counts" && f.Key == "status:10"
	}) {
		t.Errorf("audit verify store findings = %+v, want the status counters named", page.Store)
	}
	// The store is checked once, with the first page.
	var next api.AuditPage
	getJSON(t, srv, "/api/v1/audit/verify?limit=1&cursor="+code, &next)
	if next.Store != nil || next.Checked != 1 {
		t.Errorf("audit verify's second page = %+v, want one dossier and no store check", next)
	}
}

func TestVerifyAPICleanStore(t *testing.T) {
	srv := verifyServer(t, nil)
	var page api.AuditPage
	getJSON(t, srv, "/api/v1/audit/verify", &page)
	if page.Checked != 3 || page.Total != 3 || len(page.Items) != 0 || len(page.Store) != 0 {
		t.Errorf("audit verify of an intact store = %+v, want 3 checked, nothing found", page)
	}
}

// TestDossierPageNamesAnEditedRecord checks the dossier page's badge for
// a record that differs from its history, its chain intact.
func TestDossierPageNamesAnEditedRecord(t *testing.T) {
	const code = "000.00.12.H57-251001-0002"
	srv := verifyServer(t, editStatus(code))
	resp, err := srv.Client().Get(srv.URL + "/dossiers/" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	i := bytes.Index(body, []byte(`id="verify-badge"`))
	if resp.StatusCode != http.StatusOK || i < 0 {
		t.Fatalf("GET /dossiers/%s = %d\n%s", code, resp.StatusCode, body)
	}
	badge := string(body[i : i+bytes.Index(body[i:], []byte("</p>"))])
	if !strings.Contains(badge, "Hồ sơ khác với lịch sử") || !strings.Contains(badge, "status") || strings.Contains(badge, "-1") {
		t.Errorf("verify badge of an edited record: %s", badge)
	}
}

// editStatus changes the status in the record of the dossier code from 4
// to 10, leaving its history.
func editStatus(code string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte("dossiers"))
		// The record holds the state as a length and its bytes, then the
		// status as a zigzag varint: 4 is 0x08, 10 is 0x14.
		rec := slices.Clone(bk.Get([]byte(code)))
		at := bytes.Index(rec, []byte("\x0aprocessing\x08"))
		if at < 0 {
			return fmt.Errorf("no state and status 4 in % x", rec)
		}
		rec[at+11] = 0x14
		return bk.Put([]byte(code), rec)
	}
}
