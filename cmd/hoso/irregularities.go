package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/hoso-vn/hoso/api"
)

// irregularitiesCommand lists the irregularities of accepted events
// (late entries, late apologies, repeated supplement requests) through
// the HTTP API.
type irregularitiesCommand struct{ env }

func (c *irregularitiesCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("irregularities", "irregularities [flags]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	kind := fs.String("kind", "", "only this kind: late_entry, late_apology or repeated_supplement")
	agency := fs.String("agency", "", "only irregularities of this agency's dossiers (a user scoped to several agencies must choose one)")
	actor := fs.String("actor", "", "only irregularities of events naming this officer (data.actor)")
	dossier := fs.String("dossier", "", "only irregularities of this dossier")
	pages := addPageFlags(fs, "events", "an event's irregularities are never split")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprintf(c.stderr, "hoso irregularities: unexpected argument %q\n", pos[0])
		return flag.ErrHelp
	}
	if err := cf.validate(); err != nil {
		return err
	}
	v := url.Values{}
	setNonEmpty(v, "kind", *kind, "agency", *agency, "actor", *actor, "dossier", *dossier)
	items, next, err := pages.list(ctx, cf.server, "/api/v1/irregularities", v)
	if err != nil {
		return err
	}
	if *cf.output == "json" {
		return writePage(c.stdout, items, next)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tXẢY RA\tNHẬP LÚC\tHỒ SƠ\tCƠ QUAN\tCÁN BỘ\tTHAO TÁC\tLOẠI\tGIỜ LV\tCHI TIẾT")
	for _, raw := range items {
		var ir api.Irregularity
		if err := json.Unmarshal(raw, &ir); err != nil {
			return fmt.Errorf("decode irregularity: %w", err)
		}
		hours := "-"
		if ir.DelayHours != 0 {
			hours = strconv.FormatFloat(ir.DelayHours, 'f', -1, 64)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ir.Seq, vnTime(ir.Time), vnTime(ir.Entered), ir.Dossier,
			dash(ir.Agency), dash(ir.Actor), ir.Action, ir.Kind, hours, ir.DetailVI)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d bất thường\n", len(items))
	moreHint(c.stderr, next)
	return nil
}
