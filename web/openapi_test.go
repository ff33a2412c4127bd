package web

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/docs"
	"github.com/hoso-vn/hoso/workflow"
)

// openAPIDoc is the part of an OpenAPI 3.1 document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam  `json:"parameters"`
		Schemas    map[string]openAPISchema `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string          `json:"operationId"`
	Parameters  []openAPIParam  `json:"parameters"`
	Responses   map[string]any  `json:"responses"`
	RequestBody json.RawMessage `json:"requestBody"`
}

type openAPIParam struct {
	Ref    string        `json:"$ref"`
	Name   string        `json:"name"`
	In     string        `json:"in"`
	Schema openAPISchema `json:"schema"`
}

type openAPISchema struct {
	Ref        string                   `json:"$ref"`
	Type       any                      `json:"type"`
	Enum       []any                    `json:"enum"`
	Properties map[string]openAPISchema `json:"properties"`
	AllOf      []openAPISchema          `json:"allOf"`
	Items      *openAPISchema           `json:"items"`
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	var d openAPIDoc
	if err := json.Unmarshal(docs.OpenAPI, &d); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("docs/openapi.json is OpenAPI %q, want 3.1.0", d.OpenAPI)
	}
	return &d
}

// param resolves a parameter reference.
func (d *openAPIDoc) param(t *testing.T, p openAPIParam) openAPIParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	q, found := d.Components.Parameters[name]
	if !ok || !found {
		t.Fatalf("parameter reference %q does not resolve", p.Ref)
	}
	return q
}

var pathParamRE = regexp.MustCompile(`\{([a-z$]+)\}`)

// TestOpenAPIAgreesWithRoutes: every /api/v1 route of Routes is an
// operation of docs/openapi.json and the reverse; the query parameters
// each route takes (Route.Params, the list its handler validates against)
// are exactly those the document gives; the path parameters agree.
func TestOpenAPIAgreesWithRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	routes := map[string]Route{} // "GET /api/v1/..." -> route
	for _, r := range Routes() {
		if strings.HasPrefix(r.Pattern, "/api/v1/") {
			routes[r.Method+" "+r.Pattern] = r
		}
	}
	if len(routes) == 0 {
		t.Fatal("Routes() has no /api/v1 route")
	}
	documented := map[string]bool{}
	for path, ops := range d.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			if strings.HasPrefix(path, "/api/v1/") {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	for key := range documented {
		if _, ok := routes[key]; !ok {
			t.Errorf("docs/openapi.json documents %s, which web.Routes() does not serve", key)
		}
	}
	for key, r := range routes {
		if !documented[key] {
			t.Errorf("route %s is not in docs/openapi.json", key)
			continue
		}
		var op openAPIOperation
		if err := json.Unmarshal(d.Paths[r.Pattern][strings.ToLower(r.Method)], &op); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if op.OperationID == "" || op.Responses["200"] == nil {
			t.Errorf("%s: operation without an operationId or a 200 response", key)
		}
		var query, path []string
		for _, p := range op.Parameters {
			p = d.param(t, p)
			switch p.In {
			case "query":
				query = append(query, p.Name)
			case "path":
				path = append(path, p.Name)
			default:
				t.Errorf("%s: parameter %q in %q", key, p.Name, p.In)
			}
		}
		slices.Sort(query)
		params := r.Params()
		slices.Sort(params)
		if diff := cmp.Diff(params, query, cmpEmpty); diff != "" {
			t.Errorf("%s: query parameters differ (-handler +document):\n%s", key, diff)
		}
		var want []string
		for _, m := range pathParamRE.FindAllStringSubmatch(r.Pattern, -1) {
			want = append(want, m[1])
		}
		if diff := cmp.Diff(want, path, cmpEmpty); diff != "" {
			t.Errorf("%s: path parameters differ (-pattern +document):\n%s", key, diff)
		}
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestOpenAPIReferences: every $ref of the document resolves.
func TestOpenAPIReferences(t *testing.T) {
	var raw any
	if err := json.Unmarshal(docs.OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
					var cur any = raw
					for _, p := range parts {
						m, _ := cur.(map[string]any)
						cur = m[p]
					}
					if !strings.HasPrefix(ref, "#/") || cur == nil {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(x, at+"/"+k)
			}
		case []any:
			for _, x := range v {
				walk(x, at)
			}
		}
	}
	walk(raw, "#")
}

// TestOpenAPISchemas: the schemas of the document have the fields of the
// views the handlers encode, and its enums list what the code accepts.
func TestOpenAPISchemas(t *testing.T) {
	d := loadOpenAPI(t)
	props := func(name string) []string {
		s, ok := d.Components.Schemas[name]
		if !ok {
			t.Fatalf("schema %s is missing", name)
		}
		var out []string
		for p := range s.Properties {
			out = append(out, p)
		}
		for _, sub := range s.AllOf {
			if sub.Ref != "" {
				continue
			}
			for p := range sub.Properties {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		schema string
		view   any
	}{
		{"Status", api.Status{}},
		{"HistoryEntry", api.HistoryEntry{}},
		{"Rejection", workflow.Rejection{}},
		{"Mismatch", workflow.Mismatch{}},
		{"Irregularity", api.Irregularity{}},
		{"ChainReport", workflow.ChainReport{}},
		{"Finding", workflow.Finding{}},
		{"AuditPage", api.AuditPage{}},
		{"Definition", api.Definition{}},
		{"FeedItem", api.FeedItem{}},
		{"Stats", api.Stats{}},
		{"StatsReport", workflow.Report{}},
		{"ReturnWait", workflow.ReturnWait{}},
		{"ReconcileReport", api.Reconcile{}},
		{"State", api.EngineState{}},
		{"Checkpoint", workflow.Checkpoint{}},
		{"CheckpointAnswer", api.Checkpoints{}},
	} {
		if diff := cmp.Diff(jsonFields(reflect.TypeOf(tt.view)), props(tt.schema)); diff != "" {
			t.Errorf("schema %s differs from %T (-view +schema):\n%s", tt.schema, tt.view, diff)
		}
	}
	dossier := append(props("Dossier"), props("DossierDetail")...)
	slices.Sort(dossier)
	if diff := cmp.Diff(jsonFields(reflect.TypeOf(api.Dossier{})), dossier); diff != "" {
		t.Errorf("schemas Dossier and DossierDetail differ from api.Dossier (-view +schema):\n%s", diff)
	}

	var reasons []any
	for _, r := range workflow.Reasons() {
		reasons = append(reasons, string(r))
	}
	if diff := cmp.Diff(reasons, d.Components.Schemas["Reason"].Enum); diff != "" {
		t.Errorf("schema Reason differs from workflow.Reasons() (-code +document):\n%s", diff)
	}
	var kinds []any
	for _, k := range workflow.IrregularityKinds {
		kinds = append(kinds, string(k))
	}
	if diff := cmp.Diff(kinds, d.Components.Schemas["IrregularityKind"].Enum); diff != "" {
		t.Errorf("schema IrregularityKind differs from workflow.IrregularityKinds (-code +document):\n%s", diff)
	}
}

// jsonFields returns the JSON names of a struct's fields, embedded
// structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			out = append(out, jsonFields(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
