package events_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

const periodSubject = "hoso.events.hoso.period_2026_11"

func periodPayload() map[string]any {
	return map[string]any{
		"specversion": "1.0",
		"id":          "period_close/2026-11",
		"source":      "/hoso/scheduler",
		"type":        "vn.gov.hoso.period_close",
		"subject":     "period_2026_11",
		"time":        "2026-12-01T00:00:05+07:00",
		"data":        map[string]any{"actor": "hoso", "period": "2026-11"},
	}
}

// TestPeriodCloseCodec: a period-close event names its month in
// data.period and in its subject, and no procedure or agency; Encode
// writes what Decode reads.
func TestPeriodCloseCodec(t *testing.T) {
	env := events.Decode(periodSubject, mustJSON(t, periodPayload()), 3, published.AddDate(2, 1, 0))
	if env.Rejection != nil {
		t.Fatalf("Decode(period close) rejected: %s", env.Rejection.Detail)
	}
	e := env.Event
	if e.Action != workflow.PeriodCloseAction || e.Source != workflow.SystemSource || e.Dossier != "period_2026_11" ||
		e.Period != "2026-11" || e.Procedure != "" || e.Agency != "" {
		t.Fatalf("Decode(period close) = %+v", e)
	}
	raw, err := events.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	again := events.Decode(periodSubject, raw, 3, published.AddDate(2, 1, 0))
	if again.Rejection != nil {
		t.Fatalf("Decode(Encode(period close)) rejected: %s", again.Rejection.Detail)
	}
	if diff := cmp.Diff(e, again.Event, timeEqual); diff != "" {
		t.Fatalf("Decode(Encode(e)) differs from e:\n%s", diff)
	}
}

func TestPeriodCloseCodecInvalid(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject string // periodSubject if empty
		spoil   func(m map[string]any)
		details []string
	}{
		{name: "no period", spoil: func(m map[string]any) { delete(data(m), "period") }, details: []string{"data.period: required"}},
		{name: "not a month", spoil: func(m map[string]any) { data(m)["period"] = "2026-13" },
			details: []string{`data.period: "2026-13" is not a month (YYYY-MM)`}},
		{name: "another month's subject", subject: "hoso.events.hoso.period_2026_10", spoil: func(m map[string]any) { m["subject"] = "period_2026_10" },
			details: []string{`subject: "period_2026_10", want "period_2026_11"`}},
		{name: "period on a receipt", subject: testSubject, spoil: func(m map[string]any) {
			for k, v := range payload() {
				m[k] = v
			}
			data(m)["period"] = "2026-11"
		}, details: []string{"data.period: only a period-close event (type vn.gov.hoso.period_close) carries it"}},
		{name: "a dossier named like a period", spoil: func(m map[string]any) {
			m["type"] = "vn.gov.hoso.receive"
			data(m)["procedure"], data(m)["agency"] = "1.004227", "H57"
			delete(data(m), "period")
		}, details: []string{`subject: "period_2026_11" is reserved for hoso's period-close events, not a dossier code`}},
	} {
		m := periodPayload()
		tc.spoil(m)
		subject := tc.subject
		if subject == "" {
			subject = periodSubject
		}
		expectMalformed(t, tc.name, subject, mustJSON(t, m), published.AddDate(2, 1, 0), tc.details)
	}
}
