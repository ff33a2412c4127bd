package testutil

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/openapitest"
)

// HTTPClient is the client of the helpers here that ask an instance's
// HTTP server: it checks every response against docs/openapi.json
// (openapitest.Transport), so that a test that reads the API through them
// fails on an answer the document does not describe.
var HTTPClient = &http.Client{Transport: openapitest.Transport(nil)}

// GetJSON GETs a path of the instance and decodes the answer.
func GetJSON(t testing.TB, base, path string, wantStatus int, v any) {
	t.Helper()
	resp, err := HTTPClient.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
}

func Pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// FreeAddr returns a loopback address with a port free at the time of
// the call, for a server a test starts later (or restarts on the same
// address).
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitReady polls the instance's /readyz (base is its HTTP URL) until it
// answers status, and fails the test if it does not within 30 seconds.
func WaitReady(t testing.TB, base string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last int
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := HTTPClient.Get(base + "/readyz")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp.StatusCode
			if last == status {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET /readyz = %d %s after 30s, want %d", last, body, status)
}
