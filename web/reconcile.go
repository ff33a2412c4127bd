package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

// Publisher publishes outcomes on NATS for the API: the corrections of a
// reconciliation. events.OutcomePublisher satisfies it.
type Publisher interface {
	// PublishOutcomes publishes each outcome on its outcome subject with
	// Nats-Msg-Id = Outcome.MsgID() and returns how many the outcome
	// stream stored; it dropped the others as duplicates of an earlier
	// publication.
	PublishOutcomes(ctx context.Context, outcomes []workflow.Outcome) (stored int, err error)
}

// maxListedProblems is how many malformed rows a reconciliation report
// lists; problem_count says how many there were.
const maxListedProblems = 1000

// multipartOverhead is what a multipart upload may add to the export's
// MaxBytes: boundaries, part headers, other small fields.
const multipartOverhead = 1 << 20

// The scopes of missing_from_export (the scope parameter).
const (
	scopeOpen = "open" // hoso's open dossiers (default)
	scopeAll  = "all"  // every dossier, closed ones too
	scopeNone = "none" // no check: the export is a sample
)

// reconcileExport serves POST /api/v1/reconcile: the export is the
// request body, or the field "file" of a multipart form.
func (s *Server) reconcileExport(w http.ResponseWriter, r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return &apiError{status: http.StatusForbidden, code: "forbidden", msg: err.Error()}
	}
	q, err := s.query(r) // format, agency, scope, publish (queryParams)
	if err != nil {
		return err
	}
	opts := reconcileOptions{
		format:  reconcileChoice(q, "format", "", reconcile.FormatCSV, reconcile.FormatJSON),
		agency:  q.str("agency"),
		scope:   reconcileChoice(q, "scope", scopeOpen, scopeOpen, scopeAll, scopeNone),
		publish: reconcileFlag(q, "publish"),
	}
	if q.err != nil {
		return q.err
	}
	if opts.publish && s.cfg.Publisher == nil {
		return badParam("publish", "this server does not publish on NATS")
	}
	// The place is taken before the upload is read: it bounds the
	// memory of the exports read and parsed at once.
	release, err := s.reconcileSlot(w)
	if err != nil {
		return err
	}
	defer release()
	data, typeFormat, err := readExport(w, r)
	if err != nil {
		return err
	}
	if opts.format == "" {
		opts.format = typeFormat
	}
	v, err := s.reconcile(r, data, opts)
	if err != nil {
		return err
	}
	if acceptsCSV(r) {
		return writeReconcileCSV(w, &v)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// crossOrigin refuses uploads a browser sends from another site's page, so
// that no page elsewhere can make a supervisor's browser publish
// corrections. Clients that are not browsers send no such request headers
// and pass.
var crossOrigin = http.NewCrossOriginProtection()

// reconcileOptions are the choices of a reconciliation.
type reconcileOptions struct {
	format  string // csv, json, or "" to sniff
	agency  string // only this agency's dossiers can be missing; "" for all
	scope   string // scopeOpen, scopeAll or scopeNone
	publish bool   // publish the corrections
}

// reconcile compares an export with the store and, asked to, publishes
// the corrections. Its errors are *apiError for a file that is not an
// export, others for failures.
func (s *Server) reconcile(r *http.Request, data []byte, opts reconcileOptions) (api.Reconcile, error) {
	if err := scopeReconcile(r, &opts); err != nil {
		return api.Reconcile{}, err
	}
	format := opts.format
	if format == "" {
		format = reconcile.Sniff(data)
	}
	rows, problems, err := reconcile.Parse(bytes.NewReader(data), format)
	if err != nil {
		return api.Reconcile{}, exportError(err)
	}
	ctx := r.Context()
	lookup := func(codes []string) (map[string]*workflow.Dossier, error) {
		m, err := s.cfg.Store.DossiersByCode(ctx, codes)
		if u := userFrom(ctx); u != nil && u.Scoped() {
			// Another agency's dossier is unknown to a scoped user.
			maps.DeleteFunc(m, func(_ string, d *workflow.Dossier) bool { return !u.sees(d.Agency) })
		}
		return m, err
	}
	scope := reconcile.Scope{Agency: opts.agency, Closed: opts.scope == scopeAll}
	var known func(func(*workflow.Dossier) bool) error
	if opts.scope != scopeNone {
		known = s.scanScope(ctx, scope)
	}
	rep, err := reconcile.Compare(rows, lookup, known)
	if err != nil {
		return api.Reconcile{}, err
	}
	v := api.Reconcile{
		Run: reconcile.RunID(data), Format: format, Scope: api.ReconcileScope{Agency: opts.agency, Dossiers: opts.scope},
		ProblemCount: len(problems), Problems: nonNil(problems[:min(len(problems), maxListedProblems)]), Report: rep,
	}
	if opts.publish {
		at := time.Now().In(workflow.Zone).Truncate(time.Second)
		outcomes, err := reconcile.Corrections(&rep, v.Run, at, lookup)
		if err != nil {
			return api.Reconcile{}, err
		}
		stored, err := s.cfg.Publisher.PublishOutcomes(ctx, outcomes)
		if err != nil {
			return api.Reconcile{}, err
		}
		v.Published = &api.Published{Corrections: len(outcomes), New: stored}
		s.log.Info("reconciliation corrections published", "run", v.Run, "corrections", len(outcomes), "new", stored,
			"request_id", requestID(r))
	}
	return v, nil
}

// readExport reads the uploaded export: the field "file" of a multipart
// form, or else the body. typeFormat is the format its content type or
// file name says, "" when they say nothing.
func readExport(w http.ResponseWriter, r *http.Request) (data []byte, typeFormat string, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, reconcile.MaxBytes+multipartOverhead)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body io.Reader = r.Body
	name := ""
	if ctype == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", badFile("not a multipart form: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", badFile("the form has no field \"file\" with the export")
			}
			if err != nil {
				return nil, "", uploadError(err)
			}
			if part.FormName() == "file" {
				body, name = part, part.FileName()
				ctype, _, _ = mime.ParseMediaType(part.Header.Get("Content-Type"))
				break
			}
		}
	}
	data, err = io.ReadAll(io.LimitReader(body, reconcile.MaxBytes+1))
	if err != nil {
		return nil, "", uploadError(err)
	}
	if len(data) > reconcile.MaxBytes {
		return nil, "", tooLarge("the export is larger than %d MiB; split it (by agency or by month)", reconcile.MaxBytes>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, "", badFile("no export: the request body (or the form's field \"file\") is empty")
	}
	return data, formatOf(ctype, name), nil
}

// formatOf returns the export format a content type or file name says.
func formatOf(ctype, name string) string {
	switch ctype {
	case "text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel":
		return reconcile.FormatCSV
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return reconcile.FormatJSON
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return reconcile.FormatCSV
	case ".json", ".ndjson", ".jsonl":
		return reconcile.FormatJSON
	}
	return ""
}

func badFile(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_file", msg: sprintf(format, args...)}
}

func tooLarge(format string, args ...any) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: sprintf(format, args...)}
}

// uploadError maps an error reading the upload.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge("the upload is larger than %d MiB", mbe.Limit>>20)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return badFile("reading the upload: %v", err)
}

// exportError maps an error of reconcile.Parse.
func exportError(err error) error {
	switch {
	case errors.Is(err, reconcile.ErrTooLarge):
		return tooLarge("%s", strings.TrimPrefix(err.Error(), "reconcile: "))
	case errors.Is(err, reconcile.ErrFormat):
		return badFile("%s", strings.TrimPrefix(err.Error(), "reconcile: "))
	}
	return err
}

// scanScope returns the scan of the dossiers an export of the scope should
// list. With an agency it walks that agency's index; for every agency's
// open dossiers, the status index of each status an open state has; for
// every dossier, all of them. Each page is one read transaction.
func (s *Server) scanScope(ctx context.Context, scope reconcile.Scope) func(func(*workflow.Dossier) bool) error {
	var queries []workflow.DossierQuery
	if scope.Agency != "" || scope.Closed {
		queries = []workflow.DossierQuery{{Agency: scope.Agency}}
	} else {
		for _, st := range openStatuses(s.cfg.Catalog) {
			queries = append(queries, workflow.DossierQuery{Status: st})
		}
	}
	return func(yield func(*workflow.Dossier) bool) error {
		for _, q := range queries {
			q.Limit = 1000
			for {
				list, next, err := s.cfg.Store.Dossiers(ctx, q)
				if err != nil {
					return err
				}
				for i := range list {
					if d := &list[i]; scope.Includes(d) && !yield(d) {
						return nil
					}
				}
				if next == "" {
					break
				}
				q.After = next
			}
		}
		return nil
	}
}

// openStatuses returns the statuses that some state, not terminal, of a
// loaded definition shows.
func openStatuses(cat *workflow.Catalog) []workflow.Status {
	var out []workflow.Status
	for _, d := range cat.Definitions() {
		for _, st := range d.States {
			if !st.Terminal && st.Status.Valid() && !slices.Contains(out, st.Status) {
				out = append(out, st.Status)
			}
		}
	}
	slices.Sort(out)
	return out
}

// acceptsCSV reports whether the client asks for CSV rather than JSON.
func acceptsCSV(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part)); mt == "text/csv" {
			return true
		}
	}
	return false
}

// writeReconcileCSV answers with the differences as CSV, one per line in
// the order of the report, after a UTF-8 byte-order mark for Excel.
func writeReconcileCSV(w http.ResponseWriter, v *api.Reconcile) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="reconcile-`+v.Run+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_, _ = io.WriteString(w, "\ufeff")
	_ = cw.Write([]string{"kind", "code", "line", "export", "hoso", "agency", "status"})
	for _, g := range v.Groups {
		for _, d := range g.Items {
			line, status := "", ""
			if d.Line > 0 {
				line = strconv.Itoa(d.Line)
			}
			if d.Status != 0 {
				status = strconv.Itoa(int(d.Status))
			}
			_ = cw.Write([]string{string(d.Kind), d.Code, line, d.Export, d.Hoso, reconcileCell(d.Agency), status})
		}
	}
	cw.Flush()
	return nil // an error here is the client leaving
}

// reconcileCell keeps a spreadsheet from reading an agency code as a
// formula.
func reconcileCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// reconcileChoice reads a parameter that takes one of the values, def
// when absent.
func reconcileChoice(q *query, k, def string, values ...string) string {
	v := q.value(k)
	if v == "" {
		return def
	}
	if !slices.Contains(values, v) {
		q.fail(k, "%q is not one of %s", v, strings.Join(slices.DeleteFunc(slices.Clone(values), func(s string) bool { return s == "" }), ", "))
		return def
	}
	return v
}

// reconcileFlag reads true or false (also 1 or 0); absent is false.
func reconcileFlag(q *query, k string) bool {
	v := q.value(k)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil || !slices.Contains([]string{"true", "false", "1", "0"}, v) {
		q.fail(k, "%q is not true or false", v)
		return false
	}
	return b
}
