package events_test

import (
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/workflow"
)

// TestChannelCodec: data.channel is optional, one of the four channels;
// anything else is malformed.
func TestChannelCodec(t *testing.T) {
	for _, c := range workflow.Channels {
		m := payload()
		data(m)["channel"] = string(c)
		env := events.Decode(testSubject, mustJSON(t, m), 1, published)
		if env.Rejection != nil || env.Event.Channel != c {
			t.Fatalf("Decode(channel %q) = %+v, %+v", c, env.Event, env.Rejection)
		}
		raw, err := events.Encode(env.Event)
		if err != nil {
			t.Fatal(err)
		}
		if again := events.Decode(testSubject, raw, 1, published); again.Rejection != nil || again.Event.Channel != c {
			t.Errorf("Decode(Encode(channel %q)) = %+v, %+v", c, again.Event, again.Rejection)
		}
	}
	if env := events.Decode(testSubject, mustJSON(t, payload()), 1, published); env.Rejection != nil || env.Event.Channel != "" {
		t.Errorf("Decode(no channel) = %+v, %+v", env.Event, env.Rejection)
	}
	for _, bad := range []any{"online", "DESK", "", 3, true} {
		m := payload()
		data(m)["channel"] = bad
		env := events.Decode(testSubject, mustJSON(t, m), 1, published)
		if env.Rejection == nil || env.Rejection.Reason != workflow.ReasonMalformed || !strings.Contains(env.Rejection.Detail, "data.channel") {
			t.Errorf("Decode(channel %v) = %+v, %+v; want malformed naming data.channel", bad, env.Event, env.Rejection)
		}
	}
}

// TestPaymentSatisfactionCodec: data.payment is online or counter,
// data.satisfaction an integer 1–5; anything else is malformed.
func TestPaymentSatisfactionCodec(t *testing.T) {
	m := payload()
	data(m)["payment"], data(m)["satisfaction"] = "online", 4
	env := events.Decode(testSubject, mustJSON(t, m), 1, published)
	if env.Rejection != nil || env.Event.Payment != workflow.PaymentOnline || env.Event.Satisfaction != 4 {
		t.Fatalf("Decode(payment online, satisfaction 4) = %+v, %+v", env.Event, env.Rejection)
	}
	raw, err := events.Encode(env.Event)
	if err != nil {
		t.Fatal(err)
	}
	if again := events.Decode(testSubject, raw, 1, published); again.Rejection != nil || again.Event.Payment != workflow.PaymentOnline || again.Event.Satisfaction != 4 {
		t.Errorf("Decode(Encode(e)) = %+v, %+v", again.Event, again.Rejection)
	}
	for _, tc := range []struct {
		key    string
		value  any
		detail string
	}{
		{"payment", "cash", `data.payment: "cash" is not online or counter`},
		{"payment", 1, "data.payment"},
		{"satisfaction", 0, `data.satisfaction: "0" is not a score 1–5`},
		{"satisfaction", 6, `data.satisfaction: "6" is not a score 1–5`},
		{"satisfaction", 4.5, `data.satisfaction: "4.5" is not a score 1–5`},
		{"satisfaction", "5", "data.satisfaction: want an integer, got string"},
	} {
		m := payload()
		data(m)[tc.key] = tc.value
		env := events.Decode(testSubject, mustJSON(t, m), 1, published)
		if env.Rejection == nil || env.Rejection.Reason != workflow.ReasonMalformed || !strings.Contains(env.Rejection.Detail, tc.detail) {
			t.Errorf("Decode(%s %v) = %+v, %+v; want malformed saying %q", tc.key, tc.value, env.Event, env.Rejection, tc.detail)
		}
	}
}
