package engine_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
)

// TestOpenModeHost: `hoso serve` without an access file answers only
// requests addressed to a loopback name, so that a page of another site
// whose name a DNS rebinding points at 127.0.0.1 cannot read it through a
// browser; with InsecureOpen (--insecure-open) it also answers IP
// addresses, still no
// other name.
func TestOpenModeHost(t *testing.T) {
	get := func(in *testutil.Instance, host string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", in.HTTPURL+"/api/v1/admin/state", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET with Host %q: %v", host, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		insecureOpen bool
		hosts        map[string]int
	}{
		{false, map[string]int{"evil.example": 421, "evil.example:8080": 421, "10.0.0.5:8080": 421, "localhost:8080": 200, "127.0.0.1": 200, "[::1]:80": 200}},
		{true, map[string]int{"evil.example:8080": 421, "10.0.0.5:8080": 200, "[2001:db8::5]": 200, "localhost": 200}},
	} {
		cfg := testutil.Config(t.TempDir())
		cfg.InsecureOpen = tc.insecureOpen
		in := testutil.Start(t, cfg)
		for host, want := range tc.hosts {
			st, body := get(in, host)
			if st != want || (want == 421 && (!strings.Contains(body, `"misdirected"`) || strings.Contains(body, "applied_seq"))) {
				t.Errorf("InsecureOpen %v: GET /api/v1/admin/state with Host %q = %d %s, want %d", tc.insecureOpen, host, st, body, want)
			}
		}
	}
}
