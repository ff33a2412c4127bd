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
	"time"

	"github.com/hoso-vn/hoso/workflow"
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
	cl := *server
	var raw json.RawMessage
	if err := cl.get(ctx, "/api/v1/dossiers/"+url.PathEscape(code), &raw); err != nil {
		return err
	}
	var rep chainReport
	if err := cl.get(ctx, "/api/v1/dossiers/"+url.PathEscape(code)+"/verify", &rep); err != nil {
		return err
	}
	if *output == "json" {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"dossier": raw, "verify": rep})
	}
	var d dossierDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decode dossier: %w", err)
	}
	return printDossier(c.stdout, &d, &rep)
}

type statusDoc struct {
	Code   int    `json:"code"`
	NameVI string `json:"name_vi"`
	NameEN string `json:"name_en"`
}

func (s *statusDoc) String() string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d %s", s.Code, s.NameVI)
}

type dossierDoc struct {
	Code       string `json:"code"`
	Procedure  string `json:"procedure"`
	Agency     string `json:"agency"`
	Source     string `json:"source"`
	Definition struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	} `json:"definition"`
	State       string     `json:"state"`
	Status      *statusDoc `json:"status"`
	Department  string     `json:"department"`
	Due         *time.Time `json:"due"`
	Online      bool       `json:"online"`
	Attachments []string   `json:"attachments"`
	Rejections  int        `json:"rejections"`
	Mismatches  int        `json:"mismatches"`
	History     []struct {
		Index       int        `json:"index"`
		Action      string     `json:"action"`
		FromStatus  *statusDoc `json:"from_status"`
		ToStatus    *statusDoc `json:"to_status"`
		Time        time.Time  `json:"time"`
		Actor       string     `json:"actor"`
		Department  string     `json:"department"`
		EventID     string     `json:"event_id"`
		Hash        string     `json:"hash"`
		Attachments []struct {
			Kind string `json:"kind"`
		} `json:"attachments"`
	} `json:"history"`
	Problems struct {
		Rejections []struct {
			Seq     uint64    `json:"seq"`
			EventID string    `json:"event_id"`
			Action  string    `json:"action"`
			Reason  string    `json:"reason"`
			Detail  string    `json:"detail"`
			Time    time.Time `json:"time"`
		} `json:"rejections"`
	} `json:"problems"`
}

type chainReport struct {
	Dossier  string             `json:"dossier"`
	OK       bool               `json:"ok"`
	Entries  int                `json:"entries"`
	BrokenAt int                `json:"broken_at"`
	Problem  string             `json:"problem"`
	Head     string             `json:"head"`
	Findings []workflow.Finding `json:"findings,omitempty"`
}

// vnTime formats a time in Vietnam's zone for people.
func vnTime(t time.Time) string { return t.In(workflow.Zone).Format("2006-01-02 15:04") }

func printDossier(w io.Writer, d *dossierDoc, rep *chainReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Hồ sơ\t%s\n", d.Code)
	fmt.Fprintf(tw, "Trạng thái\t%s (%s)\n", d.Status, d.State)
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
	if rep.BrokenAt < 0 {
		fmt.Fprintf(tw, "Chuỗi băm\tOK, %d mục, đầu %s\n", rep.Entries, short(rep.Head))
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
			h.FromStatus, h.ToStatus, h.Actor, h.Department, strings.Join(kinds, ","), short(h.Hash))
	}
	if len(d.Problems.Rejections) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "SEQ\tTHỜI ĐIỂM\tTHAO TÁC\tLÝ DO\tCHI TIẾT")
		for _, r := range d.Problems.Rejections {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Seq, vnTime(r.Time), r.Action, r.Reason, r.Detail)
		}
	}
	return tw.Flush()
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
