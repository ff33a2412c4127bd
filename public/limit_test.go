package public

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiter spends a bucket to its last token, refills it, and fills
// the table: a new key is refused while every entry is in use, and
// taken once a sweep finds an entry whose bucket is full again.
func TestLimiter(t *testing.T) {
	t0 := time.Date(2025, 10, 1, 10, 0, 0, 0, time.UTC)
	l := newLimiter(Limit{Burst: 3, Every: time.Minute}, minMaxTracked)
	for i := range 3 {
		if ok, _ := l.allow("a", t0); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	if ok, retry := l.allow("a", t0); ok || retry != time.Minute {
		t.Errorf("the 4th request = %t, retry %s; want refused, retry in 1m", ok, retry)
	}
	// A refused request spends nothing: a minute later one token is back.
	if ok, _ := l.allow("a", t0.Add(time.Minute)); !ok {
		t.Errorf("a request a minute later refused")
	}
	if ok, _ := l.allow("a", t0.Add(time.Minute)); ok {
		t.Errorf("a second request a minute later allowed: the bucket refills one a minute")
	}
	for i := l.tracked(); i < minMaxTracked; i++ {
		if ok, _ := l.allow(fmt.Sprint("k", i), t0.Add(time.Minute)); !ok {
			t.Fatalf("key %d of %d refused", i, minMaxTracked)
		}
	}
	if ok, retry := l.allow("new", t0.Add(time.Minute)); ok || retry != sweepEvery {
		t.Errorf("a new key in a full table = %t, retry %s; want refused, retry in %s", ok, retry, sweepEvery)
	}
	// Tracked keys still work in a full table.
	if ok, _ := l.allow("k5", t0.Add(time.Minute)); !ok {
		t.Errorf("a tracked key refused in a full table")
	}
	// Three minutes on, every bucket but a's (empty a minute in) is full
	// again, k5's (spent twice) included: a sweep drops them.
	at := t0.Add(3*time.Minute + time.Second)
	if ok, _ := l.allow("new", at); !ok {
		t.Errorf("a new key refused after the buckets refilled")
	}
	if n := l.tracked(); n != 2 {
		t.Errorf("tracked after the sweep = %d, want 2 (a, new)", n)
	}
	// The sweep is at most once per sweepEvery: fill the table again and
	// a new key is refused until a second has passed, even though the
	// buckets are full.
	for i := 0; l.tracked() < minMaxTracked; i++ {
		l.allow(fmt.Sprint("m", i), at)
	}
	if ok, _ := l.allow("newer", at.Add(sweepEvery-time.Millisecond)); ok {
		t.Errorf("a sweep ran within %s of the last", sweepEvery)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:5555":                "127.0.0.2",
		"[2001:db8:1:2:3:4:5:6]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":         "192.0.2.7",
		"not an address":                "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkLimiter is the limits' cost per lookup: a token of the
// address and one of the code, in tables of 100,000 keys.
func BenchmarkLimiter(b *testing.B) {
	ls := newLookups(LookupLimits{PerAddress: Limit{Burst: 1_000_000, Every: time.Millisecond},
		PerCode: Limit{Burst: 1_000_000, Every: time.Millisecond}, MaxTracked: 1_000_000})
	keys := make([]string, 100_000)
	addrs := make([]string, 65536)
	for i := range keys {
		keys[i] = fmt.Sprintf("000.00.12.H57-%07d", i)
	}
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.%d.%d.1:40000", i>>8, i&255)
	}
	now := time.Now()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		ls.byAddr.allow(clientKey(addrs[i%len(addrs)]), now)
		ls.byCode.allow(keys[i%len(keys)], now)
		i++
	}
}
