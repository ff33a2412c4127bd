// Package api holds the JSON types of hoso's HTTP API, /api/v1, shared by
// the server (web), the CLI and Go clients of vendors; docs/openapi.json
// describes the same shapes.
//
// The server builds these values and encodes them; a client decodes the
// answers into them. Field names, omitempty and the order of fields are
// the wire format: changing one changes the API, and the server's tests
// (web/openapi_test.go) compare every type with the document.
//
// A few answers are the domain's own records (workflow.Rejection,
// workflow.Mismatch, workflow.ChainReport, workflow.Finding,
// workflow.Report), which the API sends as they are; they appear here as
// aliases so that a client needs one package. A reconciliation's answer
// embeds package reconcile's Report the same way. The package imports
// only workflow, reconcile (which imports only workflow) and the standard
// library.
package api
