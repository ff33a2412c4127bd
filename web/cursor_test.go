package web

import (
	"net/http"
	"testing"
)

// TestPageCursorMalformed: a cursor of the overdue list that is not whole
// bytes of hex (odd length, a letter past f) is the client's mistake, a
// 400, never an internal error from the store.
func TestPageCursorMalformed(t *testing.T) {
	f := newFixture(t, false)
	for _, c := range []string{"00000000000000ff4", "00000000000000fg", "0000"} {
		resp, body := f.get("/overdue?cursor="+c, "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/overdue?cursor=%s = %d %s, want 400", c, resp.StatusCode, body)
		}
	}
	if resp, body := f.get("/overdue?cursor=00000000000000ff41", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/overdue with a well-formed cursor = %d %s, want 200", resp.StatusCode, body)
	}
}
