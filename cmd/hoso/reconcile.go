package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/reconcile"
	"github.com/hoso-vn/hoso/workflow"
)

// reconcileTimeout bounds one reconciliation request: an upload of up to
// 50 MiB and the comparison of up to 200,000 rows.
const reconcileTimeout = 10 * time.Minute

// reconcileCommand uploads a one-stop-shop's status export to the API and
// prints the differences. Its exit status follows diff(1): 0 when the
// export agrees with hoso, 1 when it does not (differences or malformed
// rows), 2 when the reconciliation could not be done.
type reconcileCommand struct{ env }

func (c *reconcileCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("reconcile", "reconcile [flags] FILE   (FILE - reads standard input)", c.stderr)
	server := addServerFlags(fs, c.getenv)
	format := fs.String("format", "", "format of FILE: csv or json (default: from the file name, else sniffed)")
	agency := fs.String("agency", "", "the export is of this agency: only its dossiers can be missing from it")
	scope := fs.String("scope", "open", "dossiers the export should list: open (hoso's open dossiers), all (closed ones too) or none (do not look for missing dossiers)")
	publish := fs.Bool("publish", false, "publish a correction on NATS for each dossier whose status differs")
	output := fs.String("o", "table", "output: table, json or csv")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "hoso reconcile: give one export file")
		fs.Usage()
		return flag.ErrHelp
	}
	if *output != "table" && *output != "json" && *output != "csv" {
		return c.fail(fmt.Errorf("-o: %q is not table, json or csv", *output))
	}
	q := url.Values{}
	for k, v := range map[string]string{"format": *format, "agency": *agency} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *scope != "open" {
		q.Set("scope", *scope)
	}
	if *publish {
		q.Set("publish", "true")
	}
	body, ctype, err := c.open(pos[0], *format)
	if err != nil {
		return c.fail(err)
	}
	defer body.Close()
	accept := "application/json"
	if *output == "csv" {
		accept = "text/csv"
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
	defer cancel()
	raw, err := server.Post(ctx, "/api/v1/reconcile?"+q.Encode(), ctype, accept, body, 512<<20)
	if err != nil {
		return c.fail(err)
	}
	var rep api.Reconcile
	if *output != "csv" {
		if err := json.Unmarshal(raw, &rep); err != nil {
			return c.fail(fmt.Errorf("decode the report: %w", err))
		}
	}
	switch *output {
	case "json", "csv":
		if _, err := c.stdout.Write(raw); err != nil {
			return c.fail(err)
		}
	default:
		if err := printReconcile(c.stdout, &rep); err != nil {
			return c.fail(err)
		}
	}
	if *output == "csv" {
		return nil // the CSV does not say whether rows were malformed
	}
	if rep.Differences > 0 || rep.ProblemCount > 0 {
		return exitError(1)
	}
	return nil
}

// fail reports an error and ends with exit status 2, as diff(1) does for
// trouble, so that scripts tell it from "differences found".
func (c *reconcileCommand) fail(err error) error {
	fmt.Fprintln(c.stderr, "hoso reconcile:", err)
	return exitError(2)
}

// open opens the export and picks the Content-Type to send it with.
func (c *reconcileCommand) open(name, format string) (io.ReadCloser, string, error) {
	var f io.ReadCloser
	if name == "-" {
		f = io.NopCloser(c.stdin)
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, "", err
		}
		f = file
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			format = "csv"
		case ".json", ".ndjson", ".jsonl":
			format = "json"
		}
	}
	switch format {
	case "csv":
		return f, "text/csv", nil
	case "json":
		return f, "application/json", nil
	}
	return f, "application/octet-stream", nil // the server sniffs it
}

// kindNames are the Vietnamese names of the kinds of difference.
var kindNames = map[reconcile.Kind]string{
	reconcile.KindStatus:    "Trạng thái khác",
	reconcile.KindUnknown:   "Hồ sơ hoso không có",
	reconcile.KindResult:    "Thiếu kết quả điện tử",
	reconcile.KindDigitized: "Số hóa thành phần hồ sơ khác",
	reconcile.KindDue:       "Ngày hẹn trả khác",
	reconcile.KindMissing:   "Không có trong file xuất",
}

func printReconcile(w io.Writer, r *api.Reconcile) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Đối soát\t%d dòng (%s), lần đối soát %s\n", r.Rows, r.Format, r.Run)
	fmt.Fprintf(tw, "Kết quả\t%d hồ sơ hoso có, %d khớp hoàn toàn; %d khác biệt; %d dòng lỗi\n", r.Known, r.Agreeing, r.Differences, r.ProblemCount)
	scope := map[string]string{"open": "hồ sơ đang giải quyết", "all": "mọi hồ sơ", "none": "không kiểm tra hồ sơ thiếu"}[r.Scope.Dossiers]
	if r.Scope.Agency != "" {
		scope = "cơ quan " + r.Scope.Agency + ", " + scope
	} else if r.Scope.Dossiers != "none" {
		scope = "mọi cơ quan, " + scope
	}
	fmt.Fprintf(tw, "Phạm vi\t%s\n", scope)
	if p := r.Published; p != nil {
		fmt.Fprintf(tw, "Đã gửi\t%d thông báo sửa trạng thái (%d mới) trên hoso.outcomes.correction.>\n", p.Corrections, p.New)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "LOẠI KHÁC BIỆT\tMÃ\tSỐ HỒ SƠ")
	for _, g := range r.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", kindNames[g.Kind], g.Kind, g.Count)
	}
	for _, g := range r.Groups {
		if len(g.Items) == 0 {
			continue
		}
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "%s (%s): %d\n", kindNames[g.Kind], g.Kind, g.Count)
		fmt.Fprintln(tw, "MÃ HỒ SƠ\tDÒNG\tTRONG FILE\tTRONG HOSO\tCƠ QUAN")
		for _, d := range g.Items {
			line := "-"
			if d.Line > 0 {
				line = fmt.Sprint(d.Line)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Code, line, reconcileValue(g.Kind, d.Export, true),
				reconcileValue(g.Kind, d.Hoso, false), orDash(d.Agency))
		}
	}
	if r.ProblemCount > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "Dòng lỗi: %d", r.ProblemCount)
		if len(r.Problems) < r.ProblemCount {
			fmt.Fprintf(tw, " (%d đầu tiên dưới đây)", len(r.Problems))
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "DÒNG\tMÃ HỒ SƠ\tCỘT\tLỖI")
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.Line, orDash(p.Code), orDash(p.Column), p.MessageVI)
		}
	}
	return tw.Flush()
}

// reconcileValue renders a value of a difference for people.
func reconcileValue(kind reconcile.Kind, v string, export bool) string {
	switch {
	case v == "":
		return "-"
	case kind == reconcile.KindStatus, kind == reconcile.KindUnknown && export, kind == reconcile.KindMissing && !export:
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			return workflow.Status(n).String()
		}
	case v == "yes":
		return "có"
	case v == "no":
		return "không"
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
