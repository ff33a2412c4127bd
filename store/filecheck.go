package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// ErrTruncated is returned when a store file is shorter than its bbolt
// meta page says: a backup cut short, a copy that ran out of disk.
var ErrTruncated = errors.New("store: file is shorter than its bbolt meta page says (truncated)")

// ErrNotStore is returned for a file without a valid bbolt meta page:
// not a store file, or one whose both meta pages are damaged.
var ErrNotStore = errors.New("store: no valid bbolt meta page (not a store file, or damaged)")

// The bbolt file format (go.etcd.io/bbolt, internal/common): pages 0 and
// 1 are meta pages, written alternately by commits. A page starts with a
// 16-byte header (id, flags, count, overflow); a meta page's body holds,
// in the machine's byte order:
//
//	magic(4) version(4) page size(4) flags(4) root bucket(16)
//	freelist page(8) high-water page id(8) transaction id(8) checksum(8)
//
// the checksum being FNV-64a of the body before it. bbolt opens a file
// with the valid meta of the highest transaction id, and reads pages up to
// its high-water page id (exclusive): the file must hold them all.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16
	boltMetaChecksum = boltPageHeader + 56 // offset of the checksum in the page
	boltMetaSize     = boltMetaChecksum + 8
)

// boltMeta is what checkFileSize reads of a meta page.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages 0..pgid-1 are in use
	txid     uint64
}

// parseBoltMeta reads the meta page at the start of b; false when b holds
// no valid one (short, wrong magic or version, bad checksum).
func parseBoltMeta(b []byte) (boltMeta, bool) {
	if len(b) < boltMetaSize {
		return boltMeta{}, false
	}
	ne := binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[boltPageHeader:boltMetaChecksum])
	if ne.Uint32(b[boltPageHeader:]) != boltMagic || ne.Uint32(b[boltPageHeader+4:]) != boltVersion ||
		ne.Uint64(b[boltMetaChecksum:]) != h.Sum64() {
		return boltMeta{}, false
	}
	m := boltMeta{
		pageSize: ne.Uint32(b[boltPageHeader+8:]),
		pgid:     ne.Uint64(b[boltPageHeader+40:]),
		txid:     ne.Uint64(b[boltPageHeader+48:]),
	}
	if m.pageSize < 512 || m.pageSize&(m.pageSize-1) != 0 {
		return boltMeta{}, false
	}
	return m, true
}

// checkFileSize refuses a store file that bbolt would map beyond its end,
// which faults (SIGBUS) on the first read of a missing page instead of
// returning an error. It reads the two meta pages, as bbolt does (the
// second at the page size the first gives, else at each size bbolt
// supports), takes the valid one with the highest transaction id, and
// checks that the file holds every page up to its high-water mark. It
// returns an error wrapping ErrTruncated or ErrNotStore; an empty or
// missing file is no error (Open creates it).
func checkFileSize(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	read := func(off int64) (boltMeta, bool) {
		var buf [boltMetaSize]byte
		if _, err := f.ReadAt(buf[:], off); err != nil && !errors.Is(err, io.EOF) {
			return boltMeta{}, false
		}
		return parseBoltMeta(buf[:])
	}
	var metas []boltMeta
	m0, ok := read(0)
	if ok {
		metas = append(metas, m0)
		if m1, ok := read(int64(m0.pageSize)); ok {
			metas = append(metas, m1)
		}
	} else {
		for ps := int64(1024); ps <= 16<<20 && ps < size; ps <<= 1 {
			if m1, ok := read(ps); ok && int64(m1.pageSize) == ps {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		return ErrNotStore
	}
	m := metas[0]
	for _, x := range metas[1:] {
		if x.txid > m.txid {
			m = x
		}
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Errorf("%w: %d bytes, its meta page (transaction %d) counts %d pages of %d bytes, %d bytes",
			ErrTruncated, size, m.txid, m.pgid, m.pageSize, need)
	}
	return nil
}
