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
