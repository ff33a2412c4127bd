package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a client of hoso's HTTP API (/api/v1): the hoso command's,
// and one a vendor's Go code can use. Its answers decode into this
// package's types. A Client is safe for concurrent use once set up.
type Client struct {
	BaseURL string // the server, e.g. http://127.0.0.1:8080
	// Token is sent as a bearer token; "" sends none (a server without an
	// access file).
	Token string
	// HTTP is the HTTP client; nil is http.DefaultClient.
	HTTP *http.Client
	// Timeout bounds a Get; 0 is 30 seconds. Open and Post are bounded by
	// their context only (a backup or an upload takes as long as it
	// takes).
	Timeout time.Duration
}

// StatusError is an error answer of the API: its HTTP status and the
// stable code and message of its ErrorResponse.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server: %s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// Open sends a request and returns the response when its status is 200
// OK; its body is the caller's to close. accept "" asks for JSON. Any other status is a
// *StatusError.
func (c *Client) Open(ctx context.Context, method, path, contentType, accept string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", cmp.Or(accept, "application/json"))
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask hoso at %s (is `hoso serve` running?): %w", c.BaseURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e ErrorResponse
		_ = json.Unmarshal(data, &e)
		return nil, &StatusError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return resp, nil
}

// Get GETs path (with its query) and decodes the JSON answer into v.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.Timeout, 30*time.Second))
	defer cancel()
	resp, err := c.Open(ctx, http.MethodGet, path, "", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// Post POSTs body, of the content type given, to path and returns the
// answer's body (of the type accept asks, "" for JSON), of at most limit
// bytes.
func (c *Client) Post(ctx context.Context, path, contentType, accept string, body io.Reader, limit int64) ([]byte, error) {
	resp, err := c.Open(ctx, http.MethodPost, path, contentType, accept, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(resp.Body, limit)); err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	return b.Bytes(), nil
}

// List reads the list at path (GET /api/v1/dossiers, /rejections, …)
// with the query q, following the cursors to the last page when all is
// set, and returns the items with the cursor of the page after them (""
// after the last).
func List[T any](ctx context.Context, c *Client, path string, q url.Values, all bool) ([]T, string, error) {
	if q = url.Values(maps.Clone(q)); q == nil {
		q = url.Values{}
	}
	var items []T
	for {
		var p Page[T]
		if err := c.Get(ctx, path+"?"+q.Encode(), &p); err != nil {
			return nil, "", err
		}
		items = append(items, p.Items...)
		if !all || p.NextCursor == "" {
			return items, p.NextCursor, nil
		}
		q.Set("cursor", p.NextCursor)
	}
}
