package main

import "testing"

// TestScaleStream checks the synthetic stream of the large store: every
// dossier gets its ten steps, in order, also when the last group of
// dossiers in flight is partial.
func TestScaleStream(t *testing.T) {
	s := &scaleStream{dossiers: 7, window: 3}
	steps := map[string][]string{}
	n := 0
	for {
		envs := s.next(4)
		if len(envs) == 0 {
			break
		}
		for _, e := range envs {
			steps[e.Event.Dossier] = append(steps[e.Event.Dossier], e.Event.Action)
			n++
		}
	}
	if n != s.total() || len(steps) != 7 {
		t.Fatalf("%d events of %d dossiers, want %d of 7", n, len(steps), s.total())
	}
	for code, got := range steps {
		for i, st := range scaleSteps {
			if i >= len(got) || got[i] != st.action {
				t.Fatalf("%s: steps %v", code, got)
			}
		}
	}
}
