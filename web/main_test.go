package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/hoso-vn/hoso/internal/openapitest"
)

// TestMain checks every response the package's tests receive against
// docs/openapi.json: those of http.Get and http.DefaultClient (and so of
// an api.Client without an HTTP client of its own) here, those of the
// test servers' clients in newTestServer.
func TestMain(m *testing.M) {
	http.DefaultTransport = openapitest.Transport(http.DefaultTransport)
	os.Exit(m.Run())
}

// newTestServer starts an httptest server of h whose Client checks every
// response against docs/openapi.json.
func newTestServer(h http.Handler) *httptest.Server {
	return checked(httptest.NewServer(h))
}

// newTestTLSServer is newTestServer over TLS.
func newTestTLSServer(h http.Handler) *httptest.Server {
	return checked(httptest.NewTLSServer(h))
}

func checked(srv *httptest.Server) *httptest.Server {
	c := srv.Client()
	c.Transport = openapitest.Transport(c.Transport)
	return srv
}
