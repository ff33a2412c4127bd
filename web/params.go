package web

import (
	"net/http"
	"slices"
	"strings"
)

// queryParams lists, by route pattern, the query parameters each route of
// the API takes; a route absent from it takes none. It is the allowed list
// of the route's parseQuery, exposed by Route.Params for the OpenAPI
// document (docs/openapi.json) and the test that keeps the two in
// agreement. Handlers read their query through Server.query, which takes
// the list from here.
var queryParams = map[string][]string{
	"/api/v1/dossiers":         {"status", "agency", "procedure", "overdue", "from", "to", "cursor", "limit"},
	"/api/v1/rejections":       {"dossier", "reason", "agency", "since", "cursor", "limit"},
	"/api/v1/mismatches":       {"dossier", "agency", "cursor", "limit"},
	"/api/v1/irregularities":   {"kind", "agency", "actor", "dossier", "cursor", "limit"},
	"/api/v1/audit/verify":     {"cursor", "limit"},
	"/api/v1/audit/checkpoint": {"seq"},
	"/api/v1/feed":             {"agency", "reason"},
	"/api/v1/reconcile":        {"format", "agency", "scope", "publish"},
	"/api/v1/stats":            statsParams,
	"/api/v1/admin/state":      {},
	"/api/v1/admin/backup":     {},
}

// Params returns the query parameters the route takes, in the order its
// handler documents them; nil when it takes none.
func (r Route) Params() []string { return slices.Clone(queryParams[r.Pattern]) }

// query parses the request's query against the parameters of the route
// that matched it (queryParams): an unknown or repeated parameter is a
// 400 naming it.
func (s *Server) query(r *http.Request) (*query, error) {
	_, pattern, _ := strings.Cut(r.Pattern, " ")
	return parseQuery(r.URL.Query(), queryParams[pattern]...)
}
