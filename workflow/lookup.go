package workflow

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// A dossier's lookup digest (data.lookup) lets its applicant look it up
// on hoso's public surface with the dossier code and a lookup secret
// printed on the receipt, without hoso ever receiving the secret or any
// personal data: the one-stop-shop sends the digest, an HMAC-SHA256 under
// the deployment's lookup key of the code and the normalized secret
// (LookupDigest), and hoso's public listener, which holds the same key,
// computes it again from what the applicant types. Binding the code into
// the HMAC makes a digest useless for any other dossier; the key makes
// the digests of a stolen store useless without it.

// Bounds of a lookup key and of a normalized lookup secret, in bytes.
const (
	MinLookupKey    = 32 // a key of fewer random bytes is refused
	MaxLookupKey    = 64 // HMAC-SHA256 hashes a longer key first: more adds nothing
	MinLookupSecret = 4  // the last four digits of a phone number, the weakest secret accepted
	MaxLookupSecret = 64
)

// ErrLookupKey is wrapped by the errors of ParseLookupKey.
var ErrLookupKey = errors.New("workflow: invalid lookup key")

// ErrLookupSecret is wrapped by the errors of CheckLookupSecret.
var ErrLookupSecret = errors.New("workflow: invalid lookup secret")

// ParseLookupKey reads a lookup key as its file holds it: hexadecimal
// digits (either case) on one line, MinLookupKey to MaxLookupKey bytes
// (64 to 128 digits), with white space around them ignored, e.g. the
// output of `openssl rand -hex 32`. It is the one reader of the key's
// text: the public listener, `hoso emit` and the one-stop-shop's client
// use it alike.
func ParseLookupKey(text []byte) ([]byte, error) {
	s := bytes.TrimSpace(text)
	if len(s) == 0 {
		return nil, fmt.Errorf("%w: empty: want %d to %d bytes as hex digits on one line", ErrLookupKey, MinLookupKey, MaxLookupKey)
	}
	key := make([]byte, hex.DecodedLen(len(s)))
	if _, err := hex.Decode(key, s); err != nil || len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: not hex digits on one line (write it with `openssl rand -hex 32`)", ErrLookupKey)
	}
	if len(key) < MinLookupKey || len(key) > MaxLookupKey {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d", ErrLookupKey, len(key), MinLookupKey, MaxLookupKey)
	}
	return key, nil
}

// NormalizeLookupSecret returns secret as it enters the digest: without
// its spaces and hyphens, its ASCII letters upper-cased, so that
// "ab12-cd34" and "AB12 CD34" are one secret. Other characters stay as
// they are; CheckLookupSecret says whether the result is a valid secret.
func NormalizeLookupSecret(secret string) string {
	var b strings.Builder
	b.Grow(len(secret))
	for i := 0; i < len(secret); i++ {
		switch c := secret[i]; {
		case c == ' ' || c == '-':
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// CheckLookupSecret reports whether secret, once normalized, is a valid
// lookup secret: MinLookupSecret to MaxLookupSecret printable ASCII
// characters. Letters with diacritics are refused: the same word typed on
// two keyboards can be two byte sequences, and the applicant could not
// find their dossier.
func CheckLookupSecret(secret string) error {
	n := NormalizeLookupSecret(secret)
	if len(n) < MinLookupSecret || len(n) > MaxLookupSecret {
		return fmt.Errorf("%w: %d characters without spaces and hyphens, want %d to %d", ErrLookupSecret, len(n), MinLookupSecret, MaxLookupSecret)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < '!' || c > '~' {
			return fmt.Errorf("%w: character %d is not a printable ASCII character (letters without diacritics, digits, punctuation)", ErrLookupSecret, i+1)
		}
	}
	return nil
}

// LookupDigest returns the lookup digest of a dossier: HMAC-SHA256 under
// key of the dossier code, a line feed and the normalized secret
// (NormalizeLookupSecret). Its lowercase hex is data.lookup. key is
// ParseLookupKey's; the secret should pass CheckLookupSecret.
func LookupDigest(key []byte, code, secret string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(code))
	m.Write([]byte{'\n'})
	m.Write([]byte(NormalizeLookupSecret(secret)))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// ParseLookup reads data.lookup: 64 hex digits of either case, not all
// zero (the zero digest stands for none).
func ParseLookup(s string) ([32]byte, error) {
	var d [32]byte
	if len(s) != 64 {
		return d, fmt.Errorf("%d characters, want 64 hex digits", len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return [32]byte{}, errors.New("not 64 hex digits")
	}
	if d == ([32]byte{}) {
		return d, errors.New("all zeros: not a digest")
	}
	return d, nil
}

// LookupMatches reports whether secret is the dossier's lookup secret
// under key: false when the dossier has no lookup digest or the secret is
// not valid. The comparison takes the same time wherever the digests
// differ.
func (d *Dossier) LookupMatches(key []byte, secret string) bool {
	if d.Lookup == ([32]byte{}) || CheckLookupSecret(secret) != nil {
		return false
	}
	got := LookupDigest(key, d.Code, secret)
	return hmac.Equal(got[:], d.Lookup[:])
}
