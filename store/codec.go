package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Records are stored as JSON: readable with the bbolt CLI, and the
// workflow types already define their JSON form. encode and decode are the
// only functions that know it, so another encoding is one change here (and
// a schema version).

// encode returns the stored form of a record.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// decode reads a stored record into v. v owns its memory afterwards: b,
// which may be bbolt's, can be dropped when the transaction ends.
func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// encodeUint64 returns the stored form of a counter or sequence.
func encodeUint64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// decodeUint64 reads a counter or sequence; a missing value reads as zero.
func decodeUint64(b []byte) (uint64, error) {
	switch len(b) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("decode uint64: %d bytes, want 8", len(b))
}
