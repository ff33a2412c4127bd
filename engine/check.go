package engine

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// Check loads what Open would load, and a reload on SIGHUP, from cfg,
// without opening the store or NATS (a running engine holds them), and
// prints a summary to w: `hoso serve --check` before a restart or a
// reload.
func Check(cfg Config, w io.Writer) error {
	var errs []error
	cat, err := cfg.Rules.Load()
	if err != nil {
		errs = append(errs, fmt.Errorf("rules: %w", err))
	} else {
		fmt.Fprintf(w, "rules: %d definitions, calendar %s, work hours %s, cut-off %s\n", len(cat.Definitions()),
			cmp.Or(cfg.Rules.Calendar, "(shipped)"), cfg.Rules.WorkHours, cfg.Rules.CutOff)
	}
	files, err := loadConfigFiles(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case files.access != nil:
		fmt.Fprintf(w, "access file %s: %s\n", cfg.Access, plural(len(files.access.Users()), "user"))
	case cfg.Access == "":
		fmt.Fprintf(w, "access: open (no access file), HTTP on %s\n", cfg.HTTPAddr)
	}
	if c := files.cert; c != nil {
		fmt.Fprintf(w, "TLS certificate %s: %s, valid until %s\n", cfg.TLSCert, c.Leaf.Subject.CommonName, c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if files.natsUsers != nil {
		fmt.Fprintf(w, "nats users file %s: %s\n", cfg.NATSUsers, plural(len(files.natsUsers), "user"))
	}
	if cfg.PublicAddr != "" {
		s := files.public
		fmt.Fprintf(w, "public surface on %s: agencies withheld: %s; indicators withheld: %s\n", cfg.PublicAddr,
			cmp.Or(strings.Join(s.Withhold.Agencies, ", "), "none"), cmp.Or(strings.Join(s.Withhold.Indicators, ", "), "none"))
		if files.lookupKey != nil {
			l := s.Lookup.WithDefaults()
			fmt.Fprintf(w, "public lookup: key %s (%d bytes); per address %d at once then 1 every %s, per code %d at once then 1 every %s, %d tracked of each\n",
				cfg.PublicLookupKey, len(files.lookupKey), l.PerAddress.Burst, l.PerAddress.Every, l.PerCode.Burst, l.PerCode.Every, l.MaxTracked)
		} else if cfg.PublicLookupKey == "" {
			fmt.Fprintln(w, "public lookup: not offered (no --public-lookup-key)")
		}
	}
	fmt.Fprintf(w, "statistics: headline rates over %s, %s to two decimals\n", cmp.Or(cfg.Rates.Base, workflow.BaseReceived),
		cmp.Or(cfg.Rates.Rounding, workflow.RoundTruncate))
	if cfg.Replica != "" {
		fmt.Fprintf(w, "replica %s of the engines sharing %s, consumer %s, lease %s\n", cfg.Replica, events.RedactURL(cfg.NATSURL),
			events.ReplicaConsumer(cfg.Replica), cfg.ReplicaLease)
	}
	if err := checkCheckpointKey(cfg, w); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serve --check: %w", err)
	}
	fmt.Fprintln(w, "configuration OK")
	return nil
}

// plural returns "1 user", "2 users".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
