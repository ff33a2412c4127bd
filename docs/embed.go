// Package docs holds hoso's integration contract and operations guide as
// Markdown, and the OpenAPI 3.1 document of the HTTP API, which it embeds
// so that `hoso serve` can answer GET /api/v1/openapi.json with the very
// file kept here.
package docs

import _ "embed"

// OpenAPI is docs/openapi.json: the OpenAPI 3.1 document of every route
// under /api/v1. A test in package web checks it against web.Routes.
//
//go:embed openapi.json
var OpenAPI []byte
