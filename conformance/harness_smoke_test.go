package conformance

import "testing"

func TestHarnessStarts(t *testing.T) {
	h := startHoso(t)
	var ready map[string]any
	h.getJSON(t, "/readyz", &ready)
	t.Log(h.NATSURL, h.HTTPURL, ready)
}
