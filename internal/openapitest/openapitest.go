// Package openapitest checks the answers of hoso's HTTP server against
// its OpenAPI document (docs/openapi.json) with kin-openapi, for the
// tests of every package that talks to the server: a test installs
// Transport on the HTTP clients it uses, and a response the document does
// not describe fails the request instead of reaching the test.
//
// A response is checked when the document has an operation for its
// request's method and path: its status must be documented, its headers
// and its body must match that status's response (a body where the
// document describes none is an error too). Requests the document has no
// operation for (pages, static files, unknown routes, a method a route
// does not take) and /metrics (Prometheus' text format) are passed
// through unchecked. A text/event-stream body is endless: only its
// status and content type are checked.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/hoso-vn/hoso/docs"
)

var (
	loadOnce sync.Once
	router   routers.Router
	loadErr  error
)

// load parses and validates docs.OpenAPI once and builds its router. The
// document's servers are dropped, so that its paths match a server on
// any address (a test's httptest server or engine).
func load() (routers.Router, error) {
	loadOnce.Do(func() {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(docs.OpenAPI)
		if err != nil {
			loadErr = fmt.Errorf("openapitest: load docs/openapi.json: %w", err)
			return
		}
		if err := doc.Validate(l.Context); err != nil {
			loadErr = fmt.Errorf("openapitest: docs/openapi.json is not valid: %w", err)
			return
		}
		doc.Servers = nil
		if router, err = legacy.NewRouter(doc); err != nil {
			loadErr = fmt.Errorf("openapitest: route docs/openapi.json: %w", err)
		}
	})
	return router, loadErr
}

// Validate checks that docs/openapi.json loads and is a valid OpenAPI
// document.
func Validate() error {
	_, err := load()
	return err
}

// ResponseError is a response that docs/openapi.json does not describe.
type ResponseError struct {
	Method, Path string
	Status       int
	Err          error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("%s %s: %d response does not match docs/openapi.json: %v", e.Method, e.Path, e.Status, e.Err)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// Check checks resp, the answer to req, against docs/openapi.json. It
// reads the body (but for an event stream) and puts it back, so the
// caller reads it as if unchecked.
func Check(req *http.Request, resp *http.Response) error {
	r, err := load()
	if err != nil {
		return err
	}
	if req.URL.Path == "/metrics" {
		return nil
	}
	route, params, err := r.FindRoute(req)
	// The legacy router returns new RouteErrors with the sentinels'
	// reasons, which only their text tells apart.
	var re *routers.RouteError
	if errors.As(err, &re) && (re.Reason == routers.ErrPathNotFound.Error() || re.Reason == routers.ErrMethodNotAllowed.Error()) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("openapitest: route %s %s: %w", req.Method, req.URL.Path, err)
	}
	fail := func(err error) error {
		return &ResponseError{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Err: err}
	}
	ref := route.Operation.Responses.Status(resp.StatusCode)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	stream := ct == "text/event-stream"
	var body []byte
	if !stream {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return fail(fmt.Errorf("read body: %w", err))
		}
	}
	if ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(body) > 0 {
		return fail(fmt.Errorf("a %s body where the document describes none", ct))
	}
	if stream && ref != nil && ref.Value != nil && ref.Value.Content.Get(resp.Header.Get("Content-Type")) == nil {
		return fail(fmt.Errorf("content type %q is not documented", ct))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: stream},
	}
	// The schema and the whole value in kin-openapi's message bury the
	// reason: say where and why only.
	in.Options.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("at /%s: %s", strings.Join(e.JSONPointer(), "/"), e.Reason)
	})
	if err := openapi3filter.ValidateResponse(context.WithoutCancel(req.Context()), in); err != nil {
		return fail(err)
	}
	return nil
}

// Transport returns a RoundTripper that sends each request with next
// (nil is http.DefaultTransport) and checks its response with Check: a
// response the document does not describe is an error of the request.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{next}
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := Check(req, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}
