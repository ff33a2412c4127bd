package public

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket: Burst requests at once, then one more every
// Every.
type Limit struct {
	Burst int           `yaml:"burst"`
	Every time.Duration `yaml:"every"`
}

// LookupLimits are the rate limits of the dossier lookup, set in the
// public file's "lookup" section. Each request spends a token of its
// client's address, then one of the dossier code it asks for, before the
// store is read; a request either bucket refuses is answered 429 with
// Retry-After.
type LookupLimits struct {
	// PerAddress limits the requests of one client address (the
	// connection's, never X-Forwarded-For; an IPv6 address counts by its
	// /64). Default DefaultPerAddress. Behind a reverse proxy every
	// request comes from the proxy: raise it, and limit clients at the
	// proxy.
	PerAddress Limit `yaml:"per_address"`
	// PerCode limits the requests for one dossier code from any number of
	// addresses: what bounds a distributed guess at one secret. Default
	// DefaultPerCode.
	PerCode Limit `yaml:"per_code"`
	// MaxTracked is how many addresses, and how many codes, are tracked
	// at once (two tables of this size). Default DefaultMaxTracked. An
	// entry whose bucket is full again is dropped (it would limit nothing
	// that a new one would not); when a table is full of entries that are
	// not, a request whose address or code is not in it is refused (429)
	// until some are: the lookup fails closed, never forgetting a code
	// someone is guessing at.
	MaxTracked int `yaml:"max_tracked"`
}

// Defaults of LookupLimits.
var (
	// DefaultPerAddress lets a client look up 10 dossiers at once, then
	// one every 6 seconds (600 an hour).
	DefaultPerAddress = Limit{Burst: 10, Every: 6 * time.Second}
	// DefaultPerCode lets 10 lookups of one code through at once, then
	// one every 5 minutes (288 a day): a guess at a secret of 4 digits
	// (10,000 values) takes some 17 days on average.
	DefaultPerCode = Limit{Burst: 10, Every: 5 * time.Minute}
)

// DefaultMaxTracked is the default of LookupLimits.MaxTracked: about 20
// MB for the two tables when both are full.
const DefaultMaxTracked = 100_000

// Bounds of LookupLimits' settings.
const (
	maxBurst      = 1_000_000
	minEvery      = time.Millisecond
	maxEvery      = 24 * time.Hour
	minMaxTracked = 100
	maxMaxTracked = 10_000_000
)

// WithDefaults returns l with its zero fields defaulted.
func (l LookupLimits) WithDefaults() LookupLimits {
	if l.PerAddress == (Limit{}) {
		l.PerAddress = DefaultPerAddress
	}
	if l.PerCode == (Limit{}) {
		l.PerCode = DefaultPerCode
	}
	if l.MaxTracked == 0 {
		l.MaxTracked = DefaultMaxTracked
	}
	return l
}

// check returns what is wrong with a limit, "" if nothing.
func (l Limit) check() string {
	switch {
	case l == Limit{}:
		return ""
	case l.Burst < 1 || l.Burst > maxBurst:
		return "burst must be 1 to 1000000"
	case l.Every < minEvery || l.Every > maxEvery:
		return "every must be 1ms to 24h"
	}
	return ""
}

// sweepEvery is the shortest time between two sweeps of a full table: a
// sweep reads every entry, and a flood of new keys must not make each
// request pay for one.
const sweepEvery = time.Second

// limiter is a table of token buckets by key (an address or a code),
// with at most max entries. It is safe for concurrent use.
type limiter struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex               // guards seen and swept
	seen  map[string]*rate.Limiter // the bucket of each key
	swept time.Time                // the last sweep
}

func newLimiter(l Limit, max int) *limiter {
	return &limiter{limit: rate.Every(l.Every), burst: l.Burst, max: max, seen: make(map[string]*rate.Limiter)}
}

// allow spends a token of key at now. When there is none it returns
// false and how long until there is one; when the table is full and key
// is not in it, false and sweepEvery.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.seen[key]
	if !ok {
		if len(l.seen) >= l.max && now.Sub(l.swept) >= sweepEvery {
			l.sweep(now)
		}
		if len(l.seen) >= l.max {
			return false, sweepEvery
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.seen[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops the entries whose bucket is full again.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.seen {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.seen, k)
		}
	}
	l.swept = now
}

// tracked returns the number of keys tracked.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// clientKey is the key of a request's client address: the host of its
// RemoteAddr, an IPv6 address by its /64 (one subscriber's prefix: an
// address of it costs nothing more). X-Forwarded-For is never read: any
// client may write it.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
