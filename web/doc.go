// Package web serves hoso's JSON API under /api/v1, the health and
// readiness probes, and (when given) the Prometheus metrics handler.
//
// The API reads the store through the small Store interface defined here;
// it never writes. Every error reaches the client as a JSON body
// {"error":{"code":..., "message":..., "request_id":...}} built in one place
// (writeError); internal errors are logged with the request id and answered
// as "internal error". Query parameters are validated strictly: an unknown
// parameter or a malformed value is a 400 naming the parameter.
//
// A Server is an http.Handler and safe for concurrent use.
package web
