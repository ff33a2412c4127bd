package simulate

import (
	"crypto/sha256"
	"strconv"

	"github.com/hoso-vn/hoso/workflow"
)

// LookupKeyHex is the lookup key of every simulated stream, as its file
// would hold it (workflow.ParseLookupKey): SHA-256 of "hoso simulate
// lookup key". It is public: never a deployment's key.
const LookupKeyHex = "1472097310b1bdf078445b319eff3c18c66385852c1bf47bd5df471562aa7e48"

// LookupKey returns the lookup key of simulated streams (LookupKeyHex).
func LookupKey() []byte {
	key, err := workflow.ParseLookupKey([]byte(LookupKeyHex))
	if err != nil {
		panic("simulate: LookupKeyHex: " + err.Error()) // a constant: unreachable
	}
	return key
}

// secretAlphabet is the letters of a simulated lookup secret: digits and
// capitals without 0, 1, I and O, which a reader mistakes for each other.
const secretAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// LookupSecret returns the lookup secret the simulation prints on the
// receipt of the dossier of the code in the stream of the seed: ten
// characters of secretAlphabet in two groups of five ("7K2QD-M9XTB"),
// the first ten bytes of SHA-256 of "hoso-simulate-secret", the seed in
// decimal, a line feed and the code, each byte's low five bits one
// character.
func LookupSecret(seed int64, code string) string {
	h := sha256.New()
	h.Write([]byte("hoso-simulate-secret"))
	h.Write(strconv.AppendInt(nil, seed, 10))
	h.Write([]byte{'\n'})
	h.Write([]byte(code))
	sum := h.Sum(nil)
	var b [11]byte
	for i, j := 0, 0; i < 10; i++ {
		if i == 5 {
			b[j] = '-'
			j++
		}
		b[j] = secretAlphabet[sum[i]&31]
		j++
	}
	return string(b[:])
}

// receipt gives the receipt's event the lookup digest of the dossier's
// secret.
func (p *planner) receipt(ev *workflow.Event) {
	ev.Lookup = workflow.LookupDigest(p.g.lookupKey, ev.Dossier, LookupSecret(p.g.cfg.Seed, ev.Dossier))
}
