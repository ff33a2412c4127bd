package events

import "testing"

func TestSequencer(t *testing.T) {
	type step struct {
		stream, consumer uint64
		want             delivery
	}
	tests := []struct {
		name  string
		next  uint64
		steps []step
	}{
		{"in order", 1, []step{{1, 1, deliveryNext}, {2, 2, deliveryNext}, {3, 3, deliveryNext}}},
		{"deleted or filtered messages passed over by the server", 1, []step{{1, 1, deliveryNext}, {5, 2, deliveryJump}}},
		{"first message after a rewind is past next", 4, []step{{7, 1, deliveryJump}}},
		{"redelivery of taken messages after the ack wait", 1, []step{
			{1, 1, deliveryNext}, {2, 2, deliveryNext}, {1, 3, deliveryStale}, {2, 4, deliveryStale}, {3, 5, deliveryNext}}},
		{"lost delivery", 1, []step{{1, 1, deliveryNext}, {3, 3, deliveryLost}}},
		{"lost redelivery of an old message", 1, []step{{1, 1, deliveryNext}, {2, 3, deliveryNext}}},
		{"stale after a lost delivery", 5, []step{{5, 1, deliveryNext}, {2, 3, deliveryStale}, {6, 4, deliveryNext}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sequencer{next: tt.next}
			for i, st := range tt.steps {
				if got := s.check(st.stream, st.consumer); got != st.want {
					t.Fatalf("step %d: check(%d, %d) = %d, want %d", i, st.stream, st.consumer, got, st.want)
				}
			}
		})
	}
}

func TestSubjectToken(t *testing.T) {
	for s, want := range map[string]string{
		"abc": "abc", "": "_", "a.b": "_", "a*": "_", ">": "_", "a b": "_", "a\x00": "_", "Đ": "Đ",
	} {
		if got := subjectToken(s); got != want {
			t.Errorf("subjectToken(%q) = %q, want %q", s, got, want)
		}
	}
}
