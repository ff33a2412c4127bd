package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/workflow"
)

// definitionsCommand checks and lists procedure definitions.
type definitionsCommand struct{ env }

func (c *definitionsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("definitions", "definitions validate DIR | definitions list | definitions show ID[@VERSION] [--format dot|mermaid]", c.stderr)
	dir := fs.String("definitions", "", "directory of definition files (default: the shipped ones)")
	format := fs.String("format", "mermaid", "show: diagram format, dot (Graphviz) or mermaid")
	if len(args) == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	sub := args[0]
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "validate":
		if len(pos) != 1 {
			fmt.Fprintln(c.stderr, "hoso definitions validate: give the directory to check")
			return flag.ErrHelp
		}
		cat, err := engine.LoadDefinitions(pos[0])
		if err != nil {
			return c.report(err)
		}
		var keys []string
		for _, d := range cat.Definitions() {
			keys = append(keys, d.Key())
		}
		fmt.Fprintf(c.stdout, "ok: %d definitions (%s)\n", len(keys), strings.Join(keys, ", "))
		return nil
	case "list":
		cat, err := engine.LoadDefinitions(*dir)
		if err != nil {
			return c.report(err)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEFINITION\tEFFECTIVE\tPROCEDURES\tSTATES\tACTIONS\tNAME")
		for _, d := range cat.Definitions() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", d.Key(), d.Effective.Format("2006-01-02"),
				strings.Join(d.Procedures, ","), len(d.States), len(d.Actions), d.NameVI)
		}
		return tw.Flush()
	case "show":
		if len(pos) != 1 {
			fmt.Fprintln(c.stderr, "hoso definitions show: give a definition id, e.g. standard or standard@1")
			return flag.ErrHelp
		}
		cat, err := engine.LoadDefinitions(*dir)
		if err != nil {
			return c.report(err)
		}
		d, err := pickDefinition(cat, pos[0])
		if err != nil {
			return err
		}
		switch *format {
		case "dot":
			fmt.Fprint(c.stdout, d.DOT())
		case "mermaid":
			fmt.Fprint(c.stdout, d.Mermaid())
		default:
			return fmt.Errorf("--format: %q is not dot or mermaid", *format)
		}
		return nil
	default:
		fmt.Fprintf(c.stderr, "hoso definitions: unknown subcommand %q\n", sub)
		fs.Usage()
		return flag.ErrHelp
	}
}

// report prints every problem of a validation error, one per line.
func (c *definitionsCommand) report(err error) error {
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, p := range ve.Problems {
		fmt.Fprintln(c.stderr, p.Error())
	}
	fmt.Fprintf(c.stderr, "%d problems\n", len(ve.Problems))
	return exitError(1)
}

// pickDefinition finds "id" (its latest version) or "id@version".
func pickDefinition(cat *workflow.Catalog, name string) (*workflow.Definition, error) {
	id, ver, hasVer := strings.Cut(name, "@")
	var found *workflow.Definition
	var known []string
	for _, d := range cat.Definitions() {
		known = append(known, d.Key())
		if d.ID == id && (!hasVer || strconv.Itoa(d.Version) == ver) {
			found = d // Definitions is sorted by version: the last is the latest
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no definition %q (known: %s)", name, strings.Join(known, ", "))
	}
	return found, nil
}
