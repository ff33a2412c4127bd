package web

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// TestLookupDigestNeverShown: a dossier received with a lookup digest,
// then given another, shows neither on any page or in any JSON or CSV
// of the official surface, although the store holds the last one. The
// store file itself (the admin's backup) and the live feed are not
// walked.
func TestLookupDigestNeverShown(t *testing.T) {
	f := newFixture(t, false)
	const code = "DS-LOOKUP-0001"
	key := []byte("0123456789abcdef0123456789abcdef")
	first, last := workflow.LookupDigest(key, code, "AB12CD34"), workflow.LookupDigest(key, code, "EF56GH78")
	at := fixtureStart.Add(time.Hour)
	res := f.apply(
		f.event(code+"/1", "receive", code, agencyHai, at, func(e *workflow.Event) {
			e.Due = at.AddDate(0, 0, 10)
			e.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized, Name: "don.pdf"}}
			e.Lookup = first
		}),
		f.event(code+"/2", "assign", code, agencyHai, at.Add(time.Minute), func(e *workflow.Event) { e.Lookup = last }),
	)
	if res.Accepted != 2 {
		t.Fatalf("Apply accepted %d of 2: %+v", res.Accepted, res.Outcomes)
	}
	d, ok, err := f.db.Lookup(t.Context(), code)
	if err != nil || !ok || d.Lookup != last {
		t.Fatalf("the store holds %x, %t, %v; want %x", d.Lookup, ok, err, last)
	}
	var forms []string
	for _, dg := range [][32]byte{first, last} {
		forms = append(forms, hex.EncodeToString(dg[:]), strings.ToUpper(hex.EncodeToString(dg[:])),
			base64.StdEncoding.EncodeToString(dg[:]), base64.RawURLEncoding.EncodeToString(dg[:]),
			hex.EncodeToString(dg[:8])) // a prefix, as a short display would show
	}
	c := url.PathEscape(code)
	for _, path := range []string{
		"/api/v1/dossiers/" + c,
		"/api/v1/dossiers/" + c + "/verify",
		"/api/v1/dossiers",
		"/api/v1/dossiers?agency=" + agencyHai,
		"/api/v1/rejections",
		"/api/v1/mismatches",
		"/api/v1/irregularities",
		"/api/v1/stats",
		"/api/v1/audit/verify",
		"/",
		"/overdue",
		"/overdue?format=csv",
		"/dossiers/" + c,
		"/dossiers/" + c + "?format=csv",
		"/irregularities",
		"/reconcile",
	} {
		resp, body := f.get(path, "")
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d: %.200s", path, resp.StatusCode, body)
			continue
		}
		for _, s := range forms {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows the lookup digest (%s)", path, s)
			}
		}
	}
	// The dossier's own page and JSON do name it: the walk read it.
	for _, path := range []string{"/api/v1/dossiers/" + c, "/dossiers/" + c} {
		if _, body := f.get(path, ""); !strings.Contains(body, code) {
			t.Errorf("GET %s does not name the dossier", path)
		}
	}
}
