package public_test

import (
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/public"
)

// TestParseSettings reads a good public file and a bad one, whose every
// problem is named with its line.
func TestParseSettings(t *testing.T) {
	s, err := public.ParseSettings(strings.NewReader("withhold:\n  agencies: [H57.10]\n  indicators: [apologies, online]\n"+
		"agencies:\n  H57.01: Sở Tư pháp\nembed:\n  frame_ancestors: [\"https://dichvucong.tayninh.gov.vn\", \"'self'\"]\n"), "public.yaml")
	if err != nil {
		t.Fatalf("ParseSettings: %v", err)
	}
	if len(s.Withhold.Agencies) != 1 || len(s.Withhold.Indicators) != 2 || s.Agencies["H57.01"] != "Sở Tư pháp" || len(s.Embed.FrameAncestors) != 2 {
		t.Errorf("ParseSettings = %+v", s)
	}
	_, err = public.ParseSettings(strings.NewReader("withhold:\n  agencies: [\"H57 10\", H57.01, H57.01]\n  indicators: [apology]\n"+
		"colour: red\nembed:\n  frame_ancestors: [\"https://a.vn; script-src *\"]\n"), "public.yaml")
	for _, want := range []string{
		`public.yaml:2: withhold.agencies: "H57 10" is not an agency code`,
		`public.yaml:2: withhold.agencies: "H57.01" is listed twice`,
		`public.yaml:3: withhold.indicators: "apology" is not one of received, resolved, timing`,
		`public.yaml:4: unknown field "colour"`,
		`public.yaml:6: embed.frame_ancestors: "https://a.vn; script-src *" is not *`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSettings of a bad file: %v\nwant it to say %q", err, want)
		}
	}
}
