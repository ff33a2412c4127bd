package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/hoso-vn/hoso/api"
)

// dossierCommand prints dossiers through the HTTP API: the store allows
// one writer process, so client commands never open it themselves.
type dossierCommand struct{ env }

func (c *dossierCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "list" {
		return c.list(ctx, args[1:])
	}
	fs := newFlagSet("dossier", "dossier show [flags] CODE  |  hoso dossier list [flags]", c.stderr)
	server := addServerFlags(fs, c.getenv)
	output := fs.String("o", "table", "output format: table or json")
	if len(args) == 0 || args[0] != "show" {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "hoso dossier show: give one dossier code")
		return flag.ErrHelp
	}
	if *output != "table" && *output != "json" {
		return fmt.Errorf("-o: %q is not table or json", *output)
	}
	code := pos[0]
	cl := server
	var raw json.RawMessage
	if err := cl.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(code), &raw); err != nil {
		return err
	}
	var rep api.ChainReport
	if err := cl.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(code)+"/verify", &rep); err != nil {
		return err
	}
	if *output == "json" {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"dossier": raw, "verify": rep})
	}
	var d api.Dossier
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decode dossier: %w", err)
	}
	return printDossier(c.stdout, &d, &rep)
}

// statusText is a status for people: its code and Vietnamese name, "-"
// for none.
func statusText(s *api.Status) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d %s", s.Code, s.NameVI)
}

func printDossier(w io.Writer, d *api.Dossier, rep *api.ChainReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Hồ sơ\t%s\n", d.Code)
	fmt.Fprintf(tw, "Trạng thái\t%s (%s)\n", statusText(d.Status), d.State)
	fmt.Fprintf(tw, "Thủ tục\t%s — quy trình %s@%d\n", d.Procedure, d.Definition.ID, d.Definition.Version)
	fmt.Fprintf(tw, "Cơ quan\t%s (nguồn %s)\n", d.Agency, d.Source)
	if d.Online {
		fmt.Fprintf(tw, "Hình thức nộp\ttrực tuyến\n")
	} else {
		fmt.Fprintf(tw, "Hình thức nộp\ttrực tiếp\n")
	}
	if d.Department != "" {
		fmt.Fprintf(tw, "Phòng ban\t%s\n", d.Department)
	}
	if d.Due != nil {
		fmt.Fprintf(tw, "Hạn trả\t%s\n", vnTime(*d.Due))
	}
	fmt.Fprintf(tw, "Đính kèm\t%s\n", strings.Join(d.Attachments, ", "))
	fmt.Fprintf(tw, "Bị từ chối\t%d sự kiện; %d lần báo sai trạng thái\n", d.Rejections, d.Mismatches)
	fmt.Fprintf(tw, "Cập nhật muộn\t%d sự kiện\n", d.LateEntries)
	if rep.BrokenAt < 0 {
		fmt.Fprintf(tw, "Chuỗi băm\tOK, %d mục, đầu %s\n", rep.Entries, short(rep.Head.String()))
	} else {
		fmt.Fprintf(tw, "Chuỗi băm\tHỎNG tại mục %d: %s\n", rep.BrokenAt, rep.Problem)
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(tw, "Sai lệch\t%s: cần %q, tệp có %q — %s\n", cmpOr(f.Field, f.Bucket+" "+f.Key), f.Want, f.Got, f.Problem)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "#\tTHỜI ĐIỂM\tTHAO TÁC\tTỪ\tĐẾN\tCÁN BỘ\tPHÒNG BAN\tĐÍNH KÈM\tBĂM")
	for _, h := range d.History {
		var kinds []string
		for _, a := range h.Attachments {
			kinds = append(kinds, a.Kind)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Index, vnTime(h.Time), h.Action,
			statusText(h.FromStatus), statusText(h.ToStatus), h.Actor, h.Department, strings.Join(kinds, ","), short(h.Hash.String()))
	}
	if d.Problems != nil && len(d.Problems.Rejections) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "SEQ\tTHỜI ĐIỂM\tTHAO TÁC\tLÝ DO\tCHI TIẾT")
		for _, r := range d.Problems.Rejections {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Seq, vnTime(r.Time), r.Action, r.Reason, r.Detail)
		}
	}
	if d.Problems != nil && len(d.Problems.Irregularities) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "SEQ\tXẢY RA\tNHẬP LÚC\tTHAO TÁC\tCÁN BỘ\tBẤT THƯỜNG\tCHI TIẾT")
		for _, ir := range d.Problems.Irregularities {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ir.Seq, vnTime(ir.Time), vnTime(ir.Entered), ir.Action, dash(ir.Actor),
				ir.Kind, ir.DetailVI)
		}
	}
	return tw.Flush()
}

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
	pages := addPageFlags(fs, "dossiers", "")
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
		"from", *from, "to", *to)
	items, next, err := pages.list(ctx, cf.server, "/api/v1/dossiers", v)
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
