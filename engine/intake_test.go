package engine_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestIntakeFigures sends dossiers of November 2026 that say how they
// were submitted, and reads the figures of Decision 766/QĐ-TTg they give
// through the API, the CSV and the dashboard:
//
//	P1 received at the counter, data.channel post
//	P2 received at the counter, no channel: at the desk
//	P3 submitted with online_full, received with desk: the first stays
//	P4 submitted without a channel, received: online in part
//	P5 received with channel "email": malformed, never recorded
//	P6 submitted with post and a score of 5, never received: not
//	   counted as received; the score on the event that creates the
//	   dossier is not read
//
// Received 4: 1 at the desk, 1 by post, 1 online in full (25%), 1
// online in part. Then P1 is assigned with an online payment and a score
// of 5, P2 with a payment at the counter and a score of 2, P3 with a
// score of 4: 2 paid, 1 online (50%); 3 rated, 2 satisfied (66.66%).
func TestIntakeFigures(t *testing.T) {
	in := testutil.Start(t, testutil.Config(t.TempDir()))
	nc, _ := testutil.Connect(t, in.NATSURL)
	const agency = "000.00.12.H57"
	code := func(n string) string { return "000.00.12.H57-261110-000" + n }
	emit := func(action, c string, at time.Time, opts ...func(*workflow.Event)) workflow.Outcome {
		t.Helper()
		ev := &workflow.Event{ID: c + "/" + action, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action,
			Dossier: c, Time: at, Procedure: "1.004227", Agency: agency, Actor: "cb-01"}
		for _, o := range opts {
			o(ev)
		}
		o, err := testutil.Emit(nc, ev, 10*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", c, action, err)
		}
		return o
	}
	accept := func(o workflow.Outcome) {
		t.Helper()
		if o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("%s %s = %s (%s) %s", o.Dossier, o.Action, o.Kind, o.Reason, o.MessageEN)
		}
	}
	digitized := func(ev *workflow.Event) {
		ev.Attachments = []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}
	}
	channel := func(c string) func(*workflow.Event) {
		return func(ev *workflow.Event) { ev.Channel = workflow.Channel(c) }
	}
	at := func(day, hour int) time.Time { return ict(2026, 11, day, hour, 0) }
	accept(emit("receive", code("1"), at(10, 8), digitized, channel("post")))
	accept(emit("receive", code("2"), at(10, 9), digitized))
	accept(emit("submit", code("3"), at(10, 8), channel("online_full")))
	accept(emit("receive", code("3"), at(10, 10), channel("desk")))
	accept(emit("submit", code("4"), at(10, 8)))
	accept(emit("receive", code("4"), at(10, 11)))
	// An unknown channel is malformed; testutil.Emit refuses to encode
	// it, so it goes out as raw JSON.
	raw := `{"specversion":"1.0","id":"p5","source":"/motcua/tayninh","type":"vn.gov.hoso.receive","subject":"` + code("5") +
		`","time":"2026-11-10T09:00:00+07:00","data":{"procedure":"1.004227","agency":"` + agency +
		`","actor":"cb-01","channel":"email","attachments":[{"kind":"input_digitized"}]}}`
	if o := emitRaw(t, nc, "tayninh", code("5"), raw); o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonMalformed ||
		!strings.Contains(o.MessageEN, `data.channel: "email" is not one of desk, post, online_full, online_partial`) {
		t.Errorf("channel email: %s (%s) %s, want malformed naming data.channel", o.Kind, o.Reason, o.MessageEN)
	}
	accept(emit("submit", code("6"), at(10, 8), channel("post"), func(ev *workflow.Event) { ev.Satisfaction = 5 }))
	facts := func(p string, score int) func(*workflow.Event) {
		return func(ev *workflow.Event) { ev.Department, ev.Payment, ev.Satisfaction = "p", workflow.Payment(p), score }
	}
	accept(emit("assign", code("1"), at(11, 8), facts("online", 5)))
	accept(emit("assign", code("2"), at(11, 8), facts("counter", 2)))
	accept(emit("assign", code("3"), at(11, 8), facts("", 4)))
	raw = `{"specversion":"1.0","id":"p4-pay","source":"/motcua/tayninh","type":"vn.gov.hoso.assign","subject":"` + code("4") +
		`","time":"2026-11-11T09:00:00+07:00","data":{"procedure":"1.004227","agency":"` + agency +
		`","actor":"cb-01","department":"p","payment":"cash","satisfaction":6}}`
	if o := emitRaw(t, nc, "tayninh", code("4"), raw); o.Kind != workflow.OutcomeRejected || o.Reason != workflow.ReasonMalformed ||
		!strings.Contains(o.MessageEN, `data.payment: "cash" is not online or counter`) || !strings.Contains(o.MessageEN, `data.satisfaction: "6" is not a score 1–5`) {
		t.Errorf("payment cash, satisfaction 6: %s (%s) %s, want malformed naming both", o.Kind, o.Reason, o.MessageEN)
	}

	var st api.Stats
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/stats?from=2026-11&to=2026-11", http.StatusOK, &st)
	if r := st.Total; r.Received != 4 || r.ReceivedDesk != 1 || r.ReceivedPost != 1 || r.ReceivedOnlineFull != 1 ||
		r.ReceivedOnlinePartial != 1 || r.OnlineFullRate != 25 || r.ReceivedOnline != 2 || r.Bases["online_full_rate"] != "received" {
		t.Errorf("November: received %d (desk %d, post %d, online in full %d, %v%%, in part %d), online %d; want 4 (1, 1, 1, 25%%, 1), 2",
			r.Received, r.ReceivedDesk, r.ReceivedPost, r.ReceivedOnlineFull, r.OnlineFullRate, r.ReceivedOnlinePartial, r.ReceivedOnline)
	}
	if r := st.Total; r.Paid != 2 || r.PaidOnline != 1 || r.OnlinePaymentRate != 50 || r.Rated != 3 || r.Satisfied != 2 ||
		r.SatisfactionRate != 66.66 || r.Bases["online_payment_rate"] != "paid" || r.Bases["satisfaction_rate"] != "rated" {
		t.Errorf("November: paid %d, online %d (%v%%), rated %d, satisfied %d (%v%%); want 2, 1 (50%%), 3, 2 (66.66%%)",
			r.Paid, r.PaidOnline, r.OnlinePaymentRate, r.Rated, r.Satisfied, r.SatisfactionRate)
	}
	for c, want := range map[string][3]any{"1": {true, false, 5}, "2": {false, true, 2}, "3": {false, false, 4}, "6": {false, false, 0}} {
		var d api.Dossier
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code(c), http.StatusOK, &d)
		if got := [3]any{d.PaidOnline, d.PaidCounter, d.Satisfaction}; got != want {
			t.Errorf("P%s: paid online, at the counter, score %v; want %v", c, got, want)
		}
	}
	for c, want := range map[string]struct {
		channel workflow.Channel
		given   bool
	}{"1": {"post", true}, "2": {"desk", false}, "3": {"online_full", true}, "4": {"online_partial", false}, "6": {"post", true}} {
		var d api.Dossier
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code(c), http.StatusOK, &d)
		if d.Channel != want.channel || d.ChannelGiven != want.given {
			t.Errorf("P%s: channel %q (given %t), want %q (%t)", c, d.Channel, d.ChannelGiven, want.channel, want.given)
		}
	}

	resp, err := http.Get(in.HTTPURL + "/?from=2026-11&to=2026-11&format=csv&list=agencies")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(records) != 2 {
		t.Fatalf("CSV of agencies: %v, %d records", err, len(records))
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	for h, want := range map[string]string{"Trực tiếp": "1", "Bưu chính công ích": "1", "Trực tuyến toàn trình": "1", "Trực tuyến một phần": "1",
		"Tiếp nhận trực tuyến toàn trình (% trên số tiếp nhận, cắt bớt (không làm tròn) đến hai chữ số thập phân)": "25.00",
		"Đã thanh toán": "2", "Thanh toán trực tuyến": "1", "Được đánh giá": "3", "Hài lòng (4–5 điểm)": "2",
		"Tỷ lệ thanh toán trực tuyến (% trên số hồ sơ đã thanh toán, cắt bớt (không làm tròn) đến hai chữ số thập phân)": "50.00",
		"Tỷ lệ hài lòng (% trên số hồ sơ được đánh giá, cắt bớt (không làm tròn) đến hai chữ số thập phân)":              "66.66"} {
		if i, ok := col[h]; !ok || records[1][i] != want {
			t.Errorf("CSV column %q = %v (%t), want %s", h, records[1], ok, want)
		}
	}

	ctx := browser(t)
	navigate(t, ctx, in.HTTPURL+"/?from=2026-11&to=2026-11")
	for sel, want := range map[string]string{
		"#card-channels .n":     "25,00%",
		"#card-channels .s":     "Trực tiếp 1 · Bưu chính công ích 1 · Trực tuyến toàn trình 1 · Trực tuyến một phần 1",
		"#card-payment .n":      "50,00%",
		"#card-payment .s":      "Thanh toán trực tuyến 1 / Đã thanh toán 2",
		"#card-satisfaction .n": "66,66%",
		"#card-satisfaction .s": "Hài lòng (4–5 điểm) 2 / Được đánh giá 3",
	} {
		got, err := chromedpText(ctx, sel)
		if got = strings.Join(strings.Fields(got), " "); err != nil || got != want {
			t.Errorf("overview %s = %q (%v), want %q", sel, got, err, want)
		}
	}
}

// emitRaw publishes a payload as it is on the subject of source and the
// dossier code, and returns the outcome the engine publishes for it.
func emitRaw(t *testing.T, nc *nats.Conn, source, code, payload string) workflow.Outcome {
	t.Helper()
	sub, err := nc.SubscribeSync(events.OutcomeFilter(source, code))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(context.Background(), events.Subject(source, code), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no outcome for the message at %d: %v", ack.Sequence, err)
		}
		var o workflow.Outcome
		if json.Unmarshal(m.Data, &o) == nil && o.Seq == ack.Sequence {
			return o
		}
	}
}

// TestLevelBreakdown runs an engine whose standard definition gives
// 1.004227 to the commune and every other procedure to the province, and
// reads the statistics by level of government and a dossier's level:
// two dossiers of 1.004227 received (one resolved), one of 2.000001.
func TestLevelBreakdown(t *testing.T) {
	defs := t.TempDir()
	std, err := fs.ReadFile(configs.FS, path.Join(configs.DefinitionsDir, "standard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(std), `procedures: ["*"]`, "level: province\n"+`procedures: ["*", {code: "1.004227", level: commune}]`, 1)
	if err := os.WriteFile(filepath.Join(defs, "standard.yaml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t.TempDir())
	cfg.Rules.Definitions = defs
	in := testutil.Start(t, cfg)
	nc, _ := testutil.Connect(t, in.NATSURL)
	emit := func(action, code, procedure string, at time.Time, opts ...func(*workflow.Event)) {
		t.Helper()
		ev := &workflow.Event{ID: code + "/" + action, SourceURI: "/motcua/tayninh", Source: "tayninh", Action: action,
			Dossier: code, Time: at, Procedure: procedure, Agency: "000.00.12.H57", Actor: "cb-01", Department: "p"}
		for _, o := range opts {
			o(ev)
		}
		o, err := testutil.Emit(nc, ev, 10*time.Second)
		if err != nil || o.Kind != workflow.OutcomeAccepted {
			t.Fatalf("%s %s = %+v, %v", code, action, o, err)
		}
	}
	attach := func(kind string) func(*workflow.Event) {
		return func(ev *workflow.Event) { ev.Attachments = []workflow.Attachment{{Kind: kind}} }
	}
	c1, c2, p1 := "000.00.12.H57-261110-0101", "000.00.12.H57-261110-0102", "000.00.12.H57-261110-0103"
	emit("receive", c1, "1.004227", ict(2026, 11, 10, 8, 0), attach(workflow.AttachmentInputDigitized))
	emit("assign", c1, "1.004227", ict(2026, 11, 10, 9, 0))
	emit("resolve", c1, "1.004227", ict(2026, 11, 10, 10, 0), attach(workflow.AttachmentResultElectronic))
	emit("receive", c2, "1.004227", ict(2026, 11, 10, 8, 30), attach(workflow.AttachmentInputDigitized))
	emit("receive", p1, "2.000001", ict(2026, 11, 10, 9, 30), attach(workflow.AttachmentInputDigitized))

	var st api.Stats
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/stats?from=2026-11&to=2026-11&by=level", http.StatusOK, &st)
	got := map[string][2]int64{}
	for _, r := range st.Rows {
		got[r.Key] = [2]int64{r.Report.Received, r.Report.Resolved}
	}
	if want := map[string][2]int64{"commune": {2, 1}, "province": {1, 0}}; len(got) != 2 || got["commune"] != want["commune"] || got["province"] != want["province"] {
		t.Errorf("by level (received, resolved) = %v, want %v", got, want)
	}
	for code, want := range map[string]workflow.Level{c1: "commune", p1: "province"} {
		var d api.Dossier
		testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers/"+code, http.StatusOK, &d)
		if d.Level != want {
			t.Errorf("%s: level %q, want %q", code, d.Level, want)
		}
	}
	var page api.Page[api.Dossier]
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/dossiers?procedure=2.000001", http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Level != workflow.LevelProvince {
		t.Errorf("list of 2.000001: %+v, want %s of the province", page.Items, p1)
	}
	testutil.GetJSON(t, in.HTTPURL, "/api/v1/stats?by=county", http.StatusBadRequest, &struct{}{})

	resp, err := http.Get(in.HTTPURL + "/?from=2026-11&to=2026-11&format=csv&list=levels")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(records) != 3 || strings.TrimPrefix(records[0][0], "\ufeff") != "Cấp" ||
		records[1][0] != "commune" || records[1][2] != "2" || records[2][0] != "province" || records[2][2] != "1" {
		t.Errorf("CSV of levels: %v, %q", err, records)
	}
	ctx := browser(t)
	navigate(t, ctx, in.HTTPURL+"/?from=2026-11&to=2026-11")
	if got, err := chromedpText(ctx, "#levels tbody"); err != nil || strings.Join(strings.Fields(got), " ") != "Cấp xã 2 1 0 0,00% 0 Cấp tỉnh 1 0 0 0,00% 0" {
		t.Errorf("overview by level = %q (%v)", got, err)
	}
}
