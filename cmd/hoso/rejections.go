package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/hoso-vn/hoso/api"
)

// rejectionsCommand lists rejected events through the HTTP API.
type rejectionsCommand struct{ env }

func (c *rejectionsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("rejections", "rejections [flags]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	dossier := fs.String("dossier", "", "only rejections of events naming this dossier")
	reason := fs.String("reason", "", "only rejections with this reason code (e.g. invalid_transition, missing_attachment)")
	agency := fs.String("agency", "", "only rejections of this agency: its events and its dossiers (a user scoped to several agencies must choose one)")
	since := fs.String("since", "", "only rejections recorded since this date (YYYY-MM-DD, Vietnam) or RFC 3339 time")
	pages := addPageFlags(fs, "rejections", "")
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
	setNonEmpty(v, "dossier", *dossier, "reason", *reason, "agency", *agency, "since", *since)
	items, next, err := pages.list(ctx, cf.server, "/api/v1/rejections", v)
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
