package public_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// simDossier is what the simulated stream says of one dossier.
type simDossier struct {
	code   string
	events []*workflow.Event
}

// simDossiers groups the simulated stream's events by dossier, in the
// order of the stream, and returns the simulation's truth of the same
// stream (seed 5, 400 dossiers, as the fixture's).
func simDossiers(t *testing.T, s *sim) (map[string]*simDossier, []string, simulate.Truth) {
	t.Helper()
	cat, err := engine.DefaultRulesConfig().Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Dossiers = 5, 400
	_, truth, err := simulate.Generate(cfg, cat)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*simDossier{}
	var order []string
	for _, it := range s.items {
		if it.Event == nil || it.Event.Dossier == "" {
			continue
		}
		d := by[it.Event.Dossier]
		if d == nil {
			d = &simDossier{code: it.Event.Dossier}
			by[d.code] = d
			order = append(order, d.code)
		}
		d.events = append(d.events, it.Event)
	}
	return by, order, *truth
}

// lookupKeys is the allowlist of the lookup's answer, by object.
var lookupKeys = map[string][]string{
	"": {"code", "kind", "status", "corrected", "procedure", "received_at", "due", "original_due", "overdue", "overdue_working_days",
		"awaiting", "departments", "apologies", "resolved_at", "returned_at", "feedback", "as_of"},
	"status":      {"code", "name_vi", "name_en"},
	"procedure":   {"code", "name"},
	"awaiting":    {"what", "since", "reason"},
	"departments": {"department", "at"},
	"apologies":   {"at", "new_due"},
	"feedback":    {"received", "assigned", "answered", "published"},
}

// checkAllowlist checks every key of a lookup answer against lookupKeys.
func checkAllowlist(t *testing.T, what string, doc map[string]any) {
	t.Helper()
	checkKeys(t, what, keys(doc), lookupKeys[""])
	for k, v := range doc {
		switch v := v.(type) {
		case map[string]any:
			checkKeys(t, what+" "+k, keys(v), lookupKeys[k])
		case []any:
			for _, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					t.Errorf("%s %s holds %T", what, k, e)
					continue
				}
				checkKeys(t, what+" "+k, keys(m), lookupKeys[k])
			}
		}
	}
}

// TestLookupPrivacy looks up simulated dossiers of every ending with
// the secret the simulation printed on their receipts: each answer holds
// only the allowlist's fields, the status of the official record, and
// no officer or actor id, event id, source or agency code of the
// stream; a wrong secret's answer holds nothing of the dossier.
func TestLookupPrivacy(t *testing.T) {
	s := simulated(t)
	by, order, truth := simDossiers(t, s)
	var actors, ids []string
	for _, d := range by {
		for _, e := range d.events {
			actors, ids = append(actors, e.Actor), append(ids, e.ID)
		}
	}
	// One dossier of each last action, feedback included.
	seen := map[string]bool{}
	var picked []*simDossier
	for _, code := range order {
		d := by[code]
		last := d.events[len(d.events)-1].Action
		if _, ok := truth.Lookups[code]; !ok || seen[last] {
			continue
		}
		seen[last] = true
		picked = append(picked, d)
	}
	if len(picked) < 6 {
		t.Fatalf("the simulated stream gives %d kinds of dossier with a secret; want several", len(picked))
	}
	for _, d := range picked {
		secret := truth.Lookups[d.code]
		if secret != simulate.LookupSecret(5, d.code) {
			t.Fatalf("the truth's secret of %s is not LookupSecret's", d.code)
		}
		resp, body := postLookup(t, s.in.PublicURL, d.code, secret)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("lookup %s (last %s) = %d %s", d.code, d.events[len(d.events)-1].Action, resp.StatusCode, body)
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		checkAllowlist(t, "lookup "+d.code, doc)
		text := string(body)
		for _, v := range slices.Concat(actors, ids, []string{secret, workflow.NormalizeLookupSecret(secret)}) {
			if len(v) >= 4 && strings.Contains(text, v) {
				t.Errorf("lookup %s holds %q of the stream", d.code, v)
			}
		}
		for _, e := range d.events {
			if strings.Contains(text, e.SourceURI) || strings.Contains(text, `"`+e.Source+`"`) {
				t.Errorf("lookup %s names the source %s", d.code, e.Source)
			}
			if !strings.Contains(d.code, e.Agency) && strings.Contains(text, e.Agency) {
				t.Errorf("lookup %s names the agency %s", d.code, e.Agency)
			}
		}
		var official api.Dossier
		testutil.GetJSON(t, s.in.HTTPURL, "/api/v1/dossiers/"+d.code, http.StatusOK, &official)
		if st := doc["status"].(map[string]any)["code"]; official.Status == nil || st != float64(official.Status.Code) {
			t.Errorf("lookup %s: status %v, the official record %+v", d.code, st, official.Status)
		}
		// A wrong secret: the one answer, nothing of the dossier.
		wrong := secret[:len(secret)-1] + "2"
		if wrong == secret {
			wrong = secret[:len(secret)-1] + "3"
		}
		resp, body = postLookup(t, s.in.PublicURL, d.code, wrong)
		if resp.StatusCode != http.StatusNotFound || string(body) != `{"error":{"code":"lookup_not_found","message":"no dossier has this code and lookup secret; check both on your receipt"}}`+"\n" {
			t.Errorf("lookup %s with a wrong secret = %d %s", d.code, resp.StatusCode, body)
		}
	}
}
