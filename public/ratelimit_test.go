package public_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// from returns a client whose connections come from the loopback
// address ip (127.0.0.0/8 is all loopback on Linux).
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

// TestLookupRateLimits floods the lookup of an engine whose limits are 5
// lookups per address and 7 per code, neither refilled within the test
// (one a day), over loopback from several source addresses at once, and
// counts the answers that were not 429: exactly the limits, for a known
// code as for an unknown one; each 429 says when to come back.
func TestLookupRateLimits(t *testing.T) {
	dir := t.TempDir()
	keyFile, conf := filepath.Join(dir, "lookup.key"), filepath.Join(dir, "public.yaml")
	if err := os.WriteFile(keyFile, []byte(lookupKeyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("lookup:\n  per_address: {burst: 5, every: 24h}\n  per_code: {burst: 7, every: 24h}\n  max_tracked: 100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(filepath.Join(dir, "data"))
	cfg.PublicAddr, cfg.PublicConfig, cfg.PublicLookupKey = "127.0.0.1:0", conf, keyFile
	in := testutil.Start(t, cfg)
	key, _ := workflow.ParseLookupKey([]byte(lookupKeyHex))
	nc, _ := testutil.Connect(t, in.NATSURL)
	e := &workflow.Event{ID: "rl-1", SourceURI: "/motcua/tayninh", Source: "tayninh", Dossier: codeOverdue, Action: "receive",
		Procedure: "1.004227", Agency: "000.00.12.H57", Actor: "cb", Time: vn(9, 15, 9, 0), Entered: vn(9, 15, 9, 0),
		Attachments: []workflow.Attachment{{Kind: workflow.AttachmentInputDigitized}}, Lookup: workflow.LookupDigest(key, codeOverdue, secretA)}
	if o, err := testutil.Emit(nc, e, 10*time.Second); err != nil || o.Kind != workflow.OutcomeAccepted {
		t.Fatalf("emit: %v %+v", err, o)
	}
	if _, err := from("127.0.0.2").Get(in.PublicURL + "/lookup"); err != nil {
		t.Fatalf("this machine cannot connect from 127.0.0.2: %v", err)
	}
	// flood sends n lookups of codes(i) from each address at once, and
	// returns how many were not refused.
	flood := func(addrs []string, n int, code func(a, i int) string, secret string) int {
		var passed atomic.Int64
		var wg sync.WaitGroup
		for a, ip := range addrs {
			c := from(ip)
			for i := range n {
				wg.Go(func() {
					resp, body := postLookup1(t, c, in.PublicURL, code(a, i), secret)
					switch {
					case resp.StatusCode == http.StatusTooManyRequests:
						if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
							t.Errorf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
						}
					case resp.StatusCode == 200 || resp.StatusCode == 404:
						passed.Add(1)
					default:
						t.Errorf("lookup = %d %s", resp.StatusCode, body)
					}
				})
			}
		}
		wg.Wait()
		return int(passed.Load())
	}
	// One address, 30 lookups of 30 codes: 5 pass.
	if got := flood([]string{"127.0.0.2"}, 30, func(_, i int) string { return fmt.Sprintf("000.00.12.H57-251001-%04d", i) }, secretA); got != 5 {
		t.Errorf("30 lookups from one address: %d passed, want 5", got)
	}
	addrs := func(first int) []string {
		var out []string
		for i := range 10 {
			out = append(out, fmt.Sprintf("127.0.0.%d", first+i))
		}
		return out
	}
	// Ten addresses, 3 lookups each of one known code with wrong
	// secrets: 7 pass. The same of a code no dossier has: 7.
	if got := flood(addrs(10), 3, func(_, _ int) string { return codeOverdue }, "WRONG-0000"); got != 7 {
		t.Errorf("30 lookups of a known code from 10 addresses: %d passed, want 7", got)
	}
	if got := flood(addrs(30), 3, func(_, _ int) string { return codeUnknown }, "WRONG-0000"); got != 7 {
		t.Errorf("30 lookups of an unknown code from 10 addresses: %d passed, want 7", got)
	}
	// The right secret from a fresh address is refused too: the code's
	// budget is spent.
	if resp, _ := postLookup1(t, from("127.0.0.50"), in.PublicURL, codeOverdue, secretA); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right secret after the code's budget = %d, want 429", resp.StatusCode)
	}
	// The table of addresses holds 100, and 22 are tracked so far, every
	// one's bucket spent: of 80 new addresses, the last 2 are refused.
	var refused []int
	for i := range 80 {
		resp, _ := postLookup1(t, from(fmt.Sprintf("127.0.1.%d", i)), in.PublicURL, fmt.Sprintf("000.00.12.H57-251002-%04d", i), secretA)
		if resp.StatusCode == http.StatusTooManyRequests {
			refused = append(refused, i)
		}
	}
	if len(refused) != 2 || refused[0] != 78 {
		t.Errorf("80 new addresses with 22 tracked and room for 100: refused %v, want [78 79]", refused)
	}

	// A reload of the public file with the same limits keeps what was
	// spent: a SIGHUP is no way to a fresh budget.
	if err := in.Engine.Reload(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := postLookup1(t, from("127.0.0.51"), in.PublicURL, codeOverdue, secretA); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after a reload with the same limits, the spent code = %d, want 429", resp.StatusCode)
	}
	// New limits start anew under themselves.
	if err := os.WriteFile(conf, []byte("lookup:\n  per_address: {burst: 5, every: 24h}\n  per_code: {burst: 8, every: 24h}\n  max_tracked: 100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := in.Engine.Reload(); err != nil {
		t.Fatal(err)
	}
	if resp, body := postLookup1(t, from("127.0.0.52"), in.PublicURL, codeOverdue, secretA); resp.StatusCode != 200 {
		t.Errorf("after a reload with new limits, the right secret = %d %s, want 200", resp.StatusCode, body)
	}
}

// postLookup1 posts a lookup with the client c.
func postLookup1(t *testing.T, c *http.Client, base, code, secret string) (*http.Response, []byte) {
	body, _ := json.Marshal(map[string]string{"code": code, "secret": secret})
	return post(t, c, base+"/api/public/v1/lookup", "application/json", body)
}
