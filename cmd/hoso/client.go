package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/api"
)

// defaultServer is the HTTP address the client commands talk to.
const defaultServer = "http://127.0.0.1:8080"

// apiClient reads hoso's JSON API.
type apiClient struct {
	base  string // the server's URL
	token string // sent as a bearer token; "" sends none (open first-run mode)
}

// addServerFlags registers --server and --token, the flags of every
// command that asks a running server, and returns the client they
// configure once fs is parsed.
func addServerFlags(fs *flag.FlagSet, getenv func(string) string) *apiClient {
	cl := &apiClient{}
	fs.StringVar(&cl.base, "server", envOr(getenv, "HOSO_SERVER", defaultServer), "hoso HTTP address (env HOSO_SERVER)")
	fs.StringVar(&cl.token, "token", envOr(getenv, "HOSO_TOKEN", ""), "access token, when the server has an access file (env HOSO_TOKEN; prefer it: flags show in ps)")
	return cl
}

// do sends a request with the client's token.
func (c apiClient) do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return http.DefaultClient.Do(req)
}

// apiError is an error answered by the API.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("server: %s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

func (c apiClient) get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.base, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("ask hoso at %s (is `hoso serve` running? see --server): %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorResponse
		_ = json.Unmarshal(body, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
