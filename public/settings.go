package public

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

// Settings is what the public surface publishes: the province's choice,
// read from the public file (hoso serve --public-config). The zero value
// publishes every indicator of every agency, aggregated, and lets any
// site frame the embeddable view.
type Settings struct {
	// Withhold lists what is never published.
	Withhold Withhold `yaml:"withhold"`
	// Agencies names agencies by code, shown beside the code on the pages
	// and in the "name" column of the open data; an agency without one
	// is shown by its code.
	Agencies map[string]string `yaml:"agencies"`
	// Embed configures the embeddable view (/scoreboard/embed).
	Embed Embed `yaml:"embed"`
	// Lookup sets the rate limits of the dossier lookup; its zero fields
	// are the defaults (DefaultPerAddress, DefaultPerCode,
	// DefaultMaxTracked).
	Lookup LookupLimits `yaml:"lookup"`
}

// Withhold lists the agencies and indicators left out of every public
// answer: a withheld agency's dossiers are taken out of every figure
// (the totals, the rows of every breakdown), not only its own row; a
// withheld indicator's columns are absent from the pages, the JSON, the
// CSV and the embeddable view.
type Withhold struct {
	Agencies   []string `yaml:"agencies"`
	Indicators []string `yaml:"indicators"`
}

// Embed configures the embeddable view.
type Embed struct {
	// FrameAncestors are the sources allowed to frame the embeddable view
	// (its CSP frame-ancestors): "*", "'self'", "'none'", or an origin
	// such as https://dichvucong.tayninh.gov.vn (a host may start with
	// "*."). Empty is ["*"]: the view holds only published aggregates and
	// no action, so framing it anywhere harms nobody; a province that
	// wants it only on its portal names the portal. Every other public
	// page refuses framing.
	FrameAncestors []string `yaml:"frame_ancestors"`
}

// Indicators lists the indicators Withhold.Indicators may name, each a
// group of columns (see Columns).
var Indicators = []string{
	IndicatorReceived, IndicatorResolved, IndicatorTiming, IndicatorApologies, IndicatorOverdueNow,
	IndicatorOnline, IndicatorDigitized, IndicatorElectronicResults, IndicatorFeedback,
}

// The indicators.
const (
	IndicatorReceived          = "received"           // dossiers received
	IndicatorResolved          = "resolved"           // dossiers resolved
	IndicatorTiming            = "timing"             // early, on time, late and their rates
	IndicatorApologies         = "apologies"          // late and overdue split by the apology letter
	IndicatorOverdueNow        = "overdue_now"        // in progress now, and of them past due
	IndicatorOnline            = "online"             // submitted online and its share
	IndicatorDigitized         = "digitized"          // digitized inputs and their share
	IndicatorElectronicResults = "electronic_results" // electronic results and their share
	IndicatorFeedback          = "feedback"           // the feedback (phản ánh, kiến nghị) scoreboard as a whole
)

// agencyRE is an agency code: what the statistics key rows by.
var agencyRE = regexp.MustCompile(`^[\p{L}\p{N}._-]{1,64}$`)

// sourceRE is a CSP source expression frame-ancestors takes: a keyword
// or a scheme with a host (maybe *.host) and a port.
var sourceRE = regexp.MustCompile(`^(\*|'self'|'none'|https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?)$`)

// ParseSettings reads a public file strictly: unknown fields, unknown
// indicators, malformed agency codes and sources are errors, each with
// the file's name and its line, joined.
func ParseSettings(r io.Reader, name string) (Settings, error) {
	var s Settings
	data, err := io.ReadAll(io.LimitReader(r, yamlfile.MaxSize))
	if err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	root, decoded := yamlfile.Strict(data, &s)
	p := &yamlfile.Problems{File: name}
	for _, d := range decoded {
		p.Addf(d.Line, "%s", d.Msg)
	}
	if root == nil {
		return Settings{}, p.Err()
	}
	seen := map[string]bool{}
	for i, a := range s.Withhold.Agencies {
		switch {
		case !agencyRE.MatchString(a):
			p.Addf(yamlfile.Line(root, "withhold", "agencies", i), "withhold.agencies: %q is not an agency code (letters, digits, . _ -)", a)
		case seen[a]:
			p.Addf(yamlfile.Line(root, "withhold", "agencies", i), "withhold.agencies: %q is listed twice", a)
		}
		seen[a] = true
	}
	clear(seen)
	for i, ind := range s.Withhold.Indicators {
		switch {
		case !slices.Contains(Indicators, ind):
			p.Addf(yamlfile.Line(root, "withhold", "indicators", i), "withhold.indicators: %q is not one of %s", ind, strings.Join(Indicators, ", "))
		case seen[ind]:
			p.Addf(yamlfile.Line(root, "withhold", "indicators", i), "withhold.indicators: %q is listed twice", ind)
		}
		seen[ind] = true
	}
	for _, code := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.Agencies {
			if !yield(k) {
				return
			}
		}
	}) {
		n := s.Agencies[code]
		switch {
		case !agencyRE.MatchString(code):
			p.Addf(yamlfile.Line(root, "agencies", code), "agencies: %q is not an agency code (letters, digits, . _ -)", code)
		case strings.TrimSpace(n) == "" || len(n) > 200 || strings.ContainsFunc(n, isControl):
			p.Addf(yamlfile.Line(root, "agencies", code), "agencies: the name of %q must be 1–200 bytes of text without control characters", code)
		}
	}
	for i, src := range s.Embed.FrameAncestors {
		if !sourceRE.MatchString(src) {
			p.Addf(yamlfile.Line(root, "embed", "frame_ancestors", i),
				"embed.frame_ancestors: %q is not *, 'self', 'none' or an origin such as https://portal.example.vn", src)
		}
	}
	if slices.Contains(s.Embed.FrameAncestors, "'none'") && len(s.Embed.FrameAncestors) > 1 {
		p.Addf(yamlfile.Line(root, "embed", "frame_ancestors"), "embed.frame_ancestors: 'none' must be alone")
	}
	for _, l := range []struct {
		name string
		l    Limit
	}{{"per_address", s.Lookup.PerAddress}, {"per_code", s.Lookup.PerCode}} {
		if msg := l.l.check(); msg != "" {
			p.Addf(yamlfile.Line(root, "lookup", l.name), "lookup.%s: %s", l.name, msg)
		}
	}
	if m := s.Lookup.MaxTracked; m != 0 && (m < minMaxTracked || m > maxMaxTracked) {
		p.Addf(yamlfile.Line(root, "lookup", "max_tracked"), "lookup.max_tracked: %d, want %d to %d", m, minMaxTracked, maxMaxTracked)
	}
	if err := p.Err(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ErrSettings is wrapped by the error of Settings.Validate.
var ErrSettings = errors.New("public: invalid settings")

// Validate checks settings built in code as ParseSettings checks a file.
func (s Settings) Validate() error {
	var errs []error
	for _, a := range s.Withhold.Agencies {
		if !agencyRE.MatchString(a) {
			errs = append(errs, fmt.Errorf("%w: withheld agency %q is not an agency code", ErrSettings, a))
		}
	}
	for _, ind := range s.Withhold.Indicators {
		if !slices.Contains(Indicators, ind) {
			errs = append(errs, fmt.Errorf("%w: withheld indicator %q is not one of %s", ErrSettings, ind, strings.Join(Indicators, ", ")))
		}
	}
	for _, src := range s.Embed.FrameAncestors {
		if !sourceRE.MatchString(src) {
			errs = append(errs, fmt.Errorf("%w: frame ancestor %q is not a source", ErrSettings, src))
		}
	}
	if msg := s.Lookup.PerAddress.check(); msg != "" {
		errs = append(errs, fmt.Errorf("%w: lookup per address: %s", ErrSettings, msg))
	}
	if msg := s.Lookup.PerCode.check(); msg != "" {
		errs = append(errs, fmt.Errorf("%w: lookup per code: %s", ErrSettings, msg))
	}
	if m := s.Lookup.MaxTracked; m != 0 && (m < minMaxTracked || m > maxMaxTracked) {
		errs = append(errs, fmt.Errorf("%w: lookup max tracked %d, want %d to %d", ErrSettings, m, minMaxTracked, maxMaxTracked))
	}
	return errors.Join(errs...)
}

// withheldAgency reports whether the agency is withheld.
func (s *Settings) withheldAgency(a string) bool { return slices.Contains(s.Withhold.Agencies, a) }

// published reports whether an indicator is published.
func (s *Settings) published(indicator string) bool {
	return !slices.Contains(s.Withhold.Indicators, indicator)
}

// frameAncestors returns the embeddable view's frame-ancestors value.
func (s *Settings) frameAncestors() string {
	if len(s.Embed.FrameAncestors) == 0 {
		return "*"
	}
	return strings.Join(s.Embed.FrameAncestors, " ")
}
