package web

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/api"
)

// TestClient drives the server with api.Client, the Go client the CLI and
// vendors use: a token scopes what it sees, List follows the cursors,
// and an error answer is an *api.StatusError with the API's code.
func TestClient(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	admin := &api.Client{BaseURL: f.srv.URL + "/", Token: f.tokens["admin"]}

	var d api.Dossier
	if err := admin.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(codeHai), &d); err != nil || d.Code != codeHai || len(d.History) == 0 {
		t.Fatalf("Get dossier = %+v, %v", d, err)
	}
	one := url.Values{"limit": {"1"}}
	all, next, err := api.List[api.Dossier](ctx, admin, "/api/v1/dossiers", one, true)
	if err != nil || len(all) != 3 || next != "" {
		t.Fatalf("List --all = %d dossiers, next %q, %v; want 3 and no cursor", len(all), next, err)
	}
	if one.Get("cursor") != "" {
		t.Error("List changed the caller's query")
	}
	first, next, err := api.List[api.Dossier](ctx, admin, "/api/v1/dossiers", one, false)
	if err != nil || len(first) != 1 || next == "" {
		t.Fatalf("List of one page = %d dossiers, next %q, %v; want 1 and a cursor", len(first), next, err)
	}

	viewer := &api.Client{BaseURL: f.srv.URL, Token: f.tokens["viewer-hai"]}
	scoped, _, err := api.List[api.Dossier](ctx, viewer, "/api/v1/dossiers", nil, true)
	if err != nil || len(scoped) != 1 || scoped[0].Agency != agencyHai {
		t.Errorf("a viewer limited to %s lists %+v, %v", agencyHai, scoped, err)
	}

	var se *api.StatusError
	for _, tc := range []struct {
		cl     *api.Client
		path   string
		status int
		code   string
	}{
		{admin, "/api/v1/dossiers/NO-SUCH-CODE", 404, "not_found"},
		{admin, "/api/v1/dossiers?limit=0", 400, "bad_parameter"},
		{&api.Client{BaseURL: f.srv.URL}, "/api/v1/dossiers", 401, "unauthenticated"},
	} {
		err := tc.cl.Get(ctx, tc.path, new(any))
		if !errors.As(err, &se) || se.Status != tc.status || se.Code != tc.code || se.Message == "" {
			t.Errorf("Get %s = %v, want a StatusError %d %s with a message", tc.path, err, tc.status, tc.code)
		}
	}
	if err := (&api.Client{BaseURL: "http://127.0.0.1:1"}).Get(ctx, "/healthz", new(any)); err == nil ||
		!strings.Contains(err.Error(), "is `hoso serve` running?") || errors.As(err, &se) {
		t.Errorf("Get from no server = %v, want a transport error that says so", err)
	}

	body, err := admin.Post(ctx, "/api/v1/reconcile?format=csv&scope=all", "text/csv", "text/csv",
		strings.NewReader("ma_ho_so,trang_thai\n"+codeHai+",2\n"), 1<<20)
	if err != nil || !slices.ContainsFunc(strings.Split(string(body), "\n"), func(l string) bool { return strings.Contains(l, codeHai) }) {
		t.Errorf("Post reconcile as CSV = %q, %v; want a report naming %s", body, err, codeHai)
	}
}
