package simulate

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Config sets the size and shape of a simulated stream. Start from
// DefaultConfig: every field of the zero Config but Seed and Faults is
// invalid.
type Config struct {
	// Seed makes the stream: the same seed, config and catalog give the
	// same items. Default 1.
	Seed int64
	// Dossiers is how many dossiers to simulate. Default 2,000; about ten
	// events each.
	Dossiers int
	// Start is the earliest time a dossier arrives, converted to
	// workflow.Zone. Default 2025-07-01 08:00 in workflow.Zone.
	Start time.Time
	// Days is the length of the simulated period in calendar days from
	// Start: dossiers arrive over all of it, on working days, and no event
	// happens after it, so the dossiers of its last weeks are still in
	// progress. Default 90.
	Days int
	// Agencies is the number of agencies handling dossiers, from 2 to
	// MaxAgencies: about three eighths of them the province's departments
	// (codes H57.01…), the rest communes and wards (X57.101…). Default 40.
	Agencies int
	// Source is the source token events are published under
	// (hoso.events.<source>.<dossier-token>). Default "tayninh".
	Source string
	// Faults is the share of dossiers, from 0 to 1, with one officer's
	// fault: a skipped step, a forgotten result file, a wrong status, a
	// repeated event or an unreadable message. Default 0.06.
	Faults float64
}

// DefaultConfig returns the defaults: 2,000 dossiers from 1 July 2025 over
// 90 days at 40 agencies of Tây Ninh, 6% of them with a fault, seed 1.
func DefaultConfig() Config {
	return Config{
		Seed:     1,
		Dossiers: 2000,
		Start:    time.Date(2025, 7, 1, 8, 0, 0, 0, workflow.Zone),
		Days:     90,
		Agencies: 40,
		Source:   "tayninh",
		Faults:   0.06,
	}
}

// MaxDossiers is the largest Config.Dossiers: dossier codes number at most
// 9,999 a day per agency, and the whole stream is held in memory.
const MaxDossiers = 10_000_000

var sourceRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Validate reports every field out of range, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Dossiers < 1 || c.Dossiers > MaxDossiers {
		errs = append(errs, fmt.Errorf("dossiers: %d is not from 1 to %d", c.Dossiers, MaxDossiers))
	}
	if c.Start.IsZero() {
		errs = append(errs, errors.New("start: not set"))
	}
	if c.Days < 1 || c.Days > 3660 {
		errs = append(errs, fmt.Errorf("days: %d is not from 1 to 3660", c.Days))
	}
	if c.Agencies < 2 || c.Agencies > MaxAgencies {
		errs = append(errs, fmt.Errorf("agencies: %d is not from 2 to %d", c.Agencies, MaxAgencies))
	}
	if !sourceRE.MatchString(c.Source) {
		errs = append(errs, fmt.Errorf("source: %q is not a source token ([a-z0-9_-], at most 64)", c.Source))
	}
	if !(c.Faults >= 0 && c.Faults <= 1) {
		errs = append(errs, fmt.Errorf("faults: %v is not a share from 0 to 1", c.Faults))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulate: invalid config: %w", err)
	}
	return nil
}
