package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hoso-vn/hoso/api"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server *api.Client
	output *string
}

func addClientFlags(fs *flag.FlagSet, getenv func(string) string) clientFlags {
	return clientFlags{
		server: addServerFlags(fs, getenv),
		output: fs.String("o", "table", "output format: table (for people) or json (for scripts)"),
	}
}

func (f clientFlags) validate() error {
	if *f.output != "table" && *f.output != "json" {
		return fmt.Errorf("-o: %q is not table or json", *f.output)
	}
	return nil
}

// setNonEmpty sets the query parameters whose values are not "".
func setNonEmpty(v url.Values, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
}

// writePage writes a list in the shape of the API's pages, for -o json.
func writePage[T any](w io.Writer, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(api.Page[T]{Items: items, NextCursor: next})
}

// moreHint tells people, on stderr, how to read the rest of a list.
func moreHint(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "(more: add --all, or --cursor %s)\n", next)
	}
}

// optionalBool is a boolean flag that may also be left unset: --name
// alone is true, --name=false false.
type optionalBool struct{ value string } // "", "true" or "false"

func (b *optionalBool) String() string { return b.value }

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	b.value = strconv.FormatBool(v)
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// dossierList runs `hoso dossier list`.
func (c *dossierCommand) list(ctx context.Context, args []string) error {
	fs := newFlagSet("dossier list", "dossier list [flags]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	status := fs.String("status", "", "only dossiers in this national status code (1–10)")
	agency := fs.String("agency", "", "only dossiers of this agency")
	procedure := fs.String("procedure", "", "only dossiers of this procedure code")
	var overdue optionalBool
	fs.Var(&overdue, "overdue", "only dossiers overdue and in progress, listed by due date; --overdue=false: every other one")
	from := fs.String("from", "", "only dossiers received on or after this date, YYYY-MM-DD (listed by receipt date)")
	to := fs.String("to", "", "only dossiers received on or before this date, YYYY-MM-DD")
	limit := fs.Int("limit", 0, "dossiers per page, 1–1000 (default: the server's, 50)")
	cursor := fs.String("cursor", "", "start after this cursor (the one a previous page ended with)")
	all := fs.Bool("all", false, "follow the cursors and list every matching dossier")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && overdue.value != "" && (pos[0] == "true" || pos[0] == "false") {
		overdue.value, pos = pos[0], nil // --overdue true, as earlier versions took it
	}
	if len(pos) != 0 {
		fmt.Fprintf(c.stderr, "hoso dossier list: unexpected argument %q\n", pos[0])
		return flag.ErrHelp
	}
	if err := cf.validate(); err != nil {
		return err
	}
	v := url.Values{}
	setNonEmpty(v, "status", *status, "agency", *agency, "procedure", *procedure, "overdue", overdue.value,
		"from", *from, "to", *to, "cursor", *cursor)
	if *limit != 0 {
		v.Set("limit", strconv.Itoa(*limit))
	}
	items, next, err := api.List[json.RawMessage](ctx, cf.server, "/api/v1/dossiers", v, *all)
	if err != nil {
		return err
	}
	if *cf.output == "json" {
		return writePage(c.stdout, items, next)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MÃ HỒ SƠ\tTRẠNG THÁI\tTHỦ TỤC\tCƠ QUAN\tPHÒNG BAN\tTIẾP NHẬN\tHẠN TRẢ\tQUÁ HẠN\tTỪ CHỐI")
	for _, raw := range items {
		var d api.Dossier
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("decode dossier: %w", err)
		}
		late := ""
		if d.Overdue {
			late = "quá hạn"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", d.Code, statusText(d.Status), d.Procedure, d.Agency, dash(d.Department),
			optVNTime(d.ReceivedAt), optVNTime(d.Due), dash(late), d.Rejections)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d hồ sơ\n", len(items))
	moreHint(c.stderr, next)
	return nil
}

func optVNTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return vnTime(*t)
}

// rejectionsCommand lists rejected events through the HTTP API.
type rejectionsCommand struct{ env }

func (c *rejectionsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("rejections", "rejections [flags]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	dossier := fs.String("dossier", "", "only rejections of events naming this dossier")
	reason := fs.String("reason", "", "only rejections with this reason code (e.g. invalid_transition, missing_attachment)")
	agency := fs.String("agency", "", "only rejections of this agency: its events and its dossiers (a user scoped to several agencies must choose one)")
	since := fs.String("since", "", "only rejections recorded since this date (YYYY-MM-DD, Vietnam) or RFC 3339 time")
	limit := fs.Int("limit", 0, "rejections per page, 1–1000 (default: the server's, 50)")
	cursor := fs.String("cursor", "", "start after this cursor (the one a previous page ended with)")
	all := fs.Bool("all", false, "follow the cursors and list every matching rejection")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(c.stderr, "hoso rejections: unexpected argument %q\n", pos[0])
		return flag.ErrHelp
	}
	if err := cf.validate(); err != nil {
		return err
	}
	v := url.Values{}
	setNonEmpty(v, "dossier", *dossier, "reason", *reason, "agency", *agency, "since", *since, "cursor", *cursor)
	if *limit != 0 {
		v.Set("limit", strconv.Itoa(*limit))
	}
	items, next, err := api.List[json.RawMessage](ctx, cf.server, "/api/v1/rejections", v, *all)
	if err != nil {
		return err
	}
	if *cf.output == "json" {
		return writePage(c.stdout, items, next)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTHỜI ĐIỂM\tHỒ SƠ\tNGUỒN\tTHAO TÁC\tLÝ DO\tCHI TIẾT")
	for _, raw := range items {
		var r api.Rejection
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode rejection: %w", err)
		}
		detail := r.DetailVI
		if detail == "" {
			detail = r.Detail
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, vnTime(r.Time), dash(r.Dossier), dash(r.Source),
			dash(r.Action), r.Reason, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d sự kiện bị từ chối\n", len(items))
	moreHint(c.stderr, next)
	return nil
}

// auditCommand checks the tamper-evident histories through the HTTP API.
type auditCommand struct{ env }

// auditResult is what `hoso audit verify -o json` prints.
type auditResult struct {
	Checked int               `json:"checked"`
	Broken  []api.ChainReport `json:"broken"` // the dossiers found wrong
	Store   []api.Finding     `json:"store"`  // what is wrong in the store as a whole
}

// auditLine is a progress line of a whole-store audit.
func auditLine(checked, total int, left time.Duration) string {
	line := fmt.Sprintf("đã kiểm tra %d/%d hồ sơ (%d%%)", checked, total, percent(checked, total))
	if left > 0 {
		line += fmt.Sprintf(", còn khoảng %s", left)
	}
	return line
}

func (c *auditCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("audit", "audit verify [flags] [CODE]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	limit := fs.Int("limit", 1000, "dossiers verified per request when verifying all, 1–1000")
	checkpoints := addCheckpointFlags(fs, c.getenv) // --public-key: checkpoint.go
	if len(args) == 0 || args[0] != "verify" {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fmt.Fprintln(c.stderr, "hoso audit verify: give one dossier code, or none to verify every dossier")
		return flag.ErrHelp
	}
	if err := cf.validate(); err != nil {
		return err
	}
	if *checkpoints.publicKey != "" {
		return c.verifyCheckpoints(ctx, checkpoints, pos, cf.server, *cf.output)
	}
	cl := cf.server
	res := auditResult{Broken: []api.ChainReport{}}
	if len(pos) == 1 {
		var rep api.ChainReport
		if err := cl.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(pos[0])+"/verify", &rep); err != nil {
			return err
		}
		rep.Dossier = pos[0]
		res.Checked = 1
		if !rep.OK {
			res.Broken = append(res.Broken, rep)
		}
		if *cf.output == "table" && rep.OK {
			fmt.Fprintf(c.stdout, "%s: chuỗi băm OK, %d mục, đầu %s; hồ sơ khớp lịch sử\n", rep.Dossier, rep.Entries, short(rep.Head.String()))
		}
	} else {
		v := url.Values{"limit": {strconv.Itoa(*limit)}}
		progress := progress{w: c.stderr, interval: progressEvery, line: auditLine}
		for {
			var p api.AuditPage
			if err := cl.Get(ctx, "/api/v1/audit/verify?"+v.Encode(), &p); err != nil {
				return err
			}
			res.Checked += p.Checked
			for _, f := range p.Store {
				if *cf.output == "table" {
					printFinding(c.stdout, f)
				}
				res.Store = append(res.Store, f)
			}
			for _, rep := range p.Items {
				if *cf.output == "table" {
					printBroken(c.stdout, rep)
				}
				res.Broken = append(res.Broken, rep)
			}
			progress.report(res.Checked, p.Total, p.NextCursor == "")
			if p.NextCursor == "" {
				break
			}
			v.Set("cursor", p.NextCursor)
		}
	}
	if res.Store == nil {
		res.Store = []api.Finding{}
	}
	switch {
	case *cf.output == "json":
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	case len(pos) == 1 && len(res.Broken) == 1:
		printBroken(c.stdout, res.Broken[0])
	case len(pos) == 0:
		fmt.Fprintf(c.stdout, "đã kiểm tra %d hồ sơ: %d hồ sơ sai, %d lỗi của kho (chỉ mục, bộ đếm, bảng)\n",
			res.Checked, len(res.Broken), len(res.Store))
	}
	if len(res.Broken) > 0 || len(res.Store) > 0 {
		return exitError(1)
	}
	return nil
}

// printBroken names a dossier found wrong: its first bad chain entry, and
// each finding.
func printBroken(w io.Writer, r api.ChainReport) {
	if r.BrokenAt >= 0 {
		fmt.Fprintf(w, "%s: chuỗi băm HỎNG tại mục %d: %s\n", r.Dossier, r.BrokenAt, r.Problem)
	}
	for _, f := range r.Findings {
		f.Dossier = cmpOr(f.Dossier, r.Dossier)
		printFinding(w, f)
	}
}

// printFinding prints one finding on a line: the dossier, the field or
// the bucket and key, what the history or a recount implies and what the
// file holds, and the problem.
func printFinding(w io.Writer, f api.Finding) {
	var where []string
	for _, s := range []string{f.Dossier, f.Field, f.Bucket, f.Key} {
		if s != "" {
			where = append(where, s)
		}
	}
	line := strings.Join(where, ": ")
	if f.Want != "" || f.Got != "" {
		line += fmt.Sprintf(": cần %q, tệp có %q", f.Want, f.Got)
	}
	fmt.Fprintf(w, "%s — %s\n", line, f.Problem)
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dash returns s, or "-" for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
