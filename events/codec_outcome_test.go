package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// nastyStrings are texts whose JSON escaping is easy to get wrong.
var nastyStrings = []string{
	"", "a", "000.00.12.H57-250901-0001", "Được tiếp nhận", `"quoted" \back\slash/`, "<script>&amp;</script>",
	"\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f\x7f", "line\u2028para\u2029end", "\xff\xfe", "a\xc3", "\xe2\x80", "\xed\xa0\x80",
	"emoji 😀", "\ufffd", "tab\tnew\nline", strings.Repeat("é<", 40),
}

func randomString(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return nastyStrings[r.IntN(len(nastyStrings))]
	}
	b := make([]byte, r.IntN(20))
	for i := range b {
		switch r.IntN(4) {
		case 0:
			b[i] = byte(r.IntN(256))
		case 1:
			b[i] = byte(r.IntN(0x20))
		default:
			b[i] = byte(0x20 + r.IntN(0x5f))
		}
	}
	return string(b)
}

func randomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, workflow.Zone, time.FixedZone("", -3*3600-30*60), time.FixedZone("X", 5*3600+45*60+30)}
	t := time.Unix(r.Int64N(4102444800), 0).In(zones[r.IntN(len(zones))])
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.IntN(1e9)))
	}
	return t
}

func randomOutcome(r *rand.Rand) workflow.Outcome {
	kinds := []workflow.OutcomeKind{workflow.OutcomeAccepted, workflow.OutcomeRejected, workflow.OutcomeCorrection, workflow.OutcomeDeadline, ""}
	status := func() workflow.Status {
		if r.IntN(3) == 0 {
			return 0
		}
		return workflow.Status(r.IntN(25) - 5)
	}
	str := func() string {
		if r.IntN(3) == 0 {
			return ""
		}
		return randomString(r)
	}
	o := workflow.Outcome{
		Kind: kinds[r.IntN(len(kinds))], Seq: r.Uint64() >> r.IntN(64), EventID: str(), Source: str(), Dossier: str(),
		Action: str(), Status: status(), StatusName: str(), PreviousStatus: status(), ClaimedStatus: status(),
		Reason: workflow.Reason(str()), MessageVI: str(), MessageEN: str(), Time: randomTime(r),
	}
	if r.IntN(2) == 0 {
		due := randomTime(r)
		o.Due = &due
	}
	if r.IntN(2) == 0 {
		i := r.IntN(1000) - 10
		if r.IntN(10) == 0 {
			i = math.MinInt
		}
		o.HistoryIndex = &i
	}
	if r.IntN(2) == 0 {
		var h workflow.Hash
		for j := range h {
			h[j] = byte(r.IntN(256))
		}
		o.EntryHash = &h
	}
	for range r.IntN(3) {
		o.Irregularities = append(o.Irregularities, workflow.IrregularityKinds[r.IntN(len(workflow.IrregularityKinds))])
	}
	return o
}

// TestMarshalOutcomeMatchesJSON checks that outcomes are published as the
// very bytes encoding/json wrote for them before.
func TestMarshalOutcomeMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	outcomes := []workflow.Outcome{{}, {Kind: workflow.OutcomeAccepted, Time: time.Date(2025, 9, 1, 8, 15, 0, 0, workflow.Zone)}}
	for _, s := range nastyStrings {
		outcomes = append(outcomes, workflow.Outcome{Kind: workflow.OutcomeKind(s), EventID: s, MessageVI: s, MessageEN: s + s})
	}
	for range 20000 {
		outcomes = append(outcomes, randomOutcome(r))
	}
	for i := range outcomes {
		o := &outcomes[i]
		want, werr := json.Marshal(o)
		got, err := marshalOutcome(o)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Fatalf("marshalOutcome(%+v) = %s, %v; want %s, %v", o, got, err, want, werr)
		}
	}
}

func TestMarshalOutcomeBadTime(t *testing.T) {
	due := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range []workflow.Outcome{
		{Kind: workflow.OutcomeAccepted, Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Kind: workflow.OutcomeAccepted, Due: &due},
	} {
		_, werr := json.Marshal(&o)
		_, err := marshalOutcome(&o)
		if err == nil || werr == nil || err.Error() != werr.Error() {
			t.Errorf("marshalOutcome(%+v) error = %v, want %v", o, err, werr)
		}
	}
}

// TestMarshalEventMatchesJSON checks that Encode writes what json.Encoder
// wrote (without HTML escaping) before.
func TestMarshalEventMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		w := wireEvent{
			SpecVersion: randomString(r), ID: randomString(r), Source: randomString(r), Type: randomString(r),
			Subject: randomString(r), Time: randomString(r), DataContentType: randomString(r),
			Data: wireData{
				Procedure: randomString(r), Agency: randomString(r), Actor: randomString(r), ClaimedStatus: r.IntN(30) - 10,
				Reason: randomString(r), Note: randomString(r), NewDue: randomString(r), Due: randomString(r), Department: randomString(r),
			},
		}
		switch r.IntN(3) {
		case 0:
		case 1:
			w.Data.Attachments = []workflow.Attachment{}
		default:
			for range 1 + r.IntN(3) {
				w.Data.Attachments = append(w.Data.Attachments, workflow.Attachment{Kind: randomString(r), Name: randomString(r), SHA256: randomString(r)})
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&w); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := marshalEvent(&w); !bytes.Equal(got, want) {
			t.Fatalf("marshalEvent(%+v) = %s, want %s", w, got, want)
		}
	}
}

func benchOutcome() workflow.Outcome {
	due := time.Date(2025, 9, 15, 0, 0, 0, 0, workflow.Zone)
	idx := 1
	return workflow.Outcome{
		Kind: workflow.OutcomeCorrection, Seq: 42, EventID: "7f1c0b7e-0a52-4c1e-9f0e-3d6c2a1b9e01", Source: "tayninh",
		Dossier: "000.00.12.H57-250901-0001", Action: "assign", Status: 4, StatusName: "Đang xử lý", PreviousStatus: 2,
		ClaimedStatus: 9, Reason: "status_mismatch",
		MessageVI: "Trạng thái báo cáo không đúng với trạng thái hợp lệ: trạng thái đúng là 4 Đang xử lý, không phải 9 Đã xử lý xong",
		MessageEN: "Claimed status differs from the authoritative status: the status is 4 In progress, not 9",
		Due:       &due, HistoryIndex: &idx, Time: time.Date(2025, 9, 2, 9, 0, 0, 0, workflow.Zone),
	}
}

func BenchmarkOutcomeJSON(b *testing.B) {
	o := benchOutcome()
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appender", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalOutcome(&o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzMarshalOutcome(f *testing.F) {
	for _, s := range nastyStrings {
		f.Add(s, s, uint64(7), 3, int64(1e9))
	}
	f.Fuzz(func(t *testing.T, a, b string, seq uint64, n int, unix int64) {
		tm := time.Unix(unix, int64(n)).In(time.FixedZone(a, n%50000))
		h := workflow.Hash(sha256.Sum256([]byte(a + b)))
		o := workflow.Outcome{Kind: workflow.OutcomeKind(a), Seq: seq, EventID: b, Dossier: a + b, Status: workflow.Status(n),
			MessageVI: b, MessageEN: a, Reason: workflow.Reason(b), Time: tm, Due: &tm, HistoryIndex: &n}
		if seq%2 == 0 {
			o.EntryHash = &h
			o.Irregularities = []workflow.IrregularityKind{workflow.IrregularityKind(a), workflow.IrregularityKind(b)}
		}
		want, werr := json.Marshal(&o)
		got, err := marshalOutcome(&o)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("marshalOutcome(%+v) = %s, %v; want %s, %v", o, got, err, want, werr)
		}
	})
}
