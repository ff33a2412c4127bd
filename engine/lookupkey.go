package engine

import (
	"fmt"
	"io"

	"github.com/hoso-vn/hoso/workflow"
)

// maxLookupKeyFile bounds what ReadLookupKey reads: a key's hex with its
// line end is far shorter.
const maxLookupKeyFile = 4096

// ReadLookupKey reads the deployment's lookup key from its file: hex
// digits on one line (workflow.ParseLookupKey), as `hoso public keygen`
// or `openssl rand -hex 32` write it. The file must be a regular file
// that neither its group nor others may read or write (mode 0600 or
// 0400): with the key and a copy of the store, weak secrets could be
// guessed offline, without the public listener's rate limits. Its errors
// start with the path.
func ReadLookupKey(path string) ([]byte, error) {
	f, err := openConfigFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pathError(path, err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets its group or others read it; run chmod 600 %s", path, m, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxLookupKeyFile+1))
	if err != nil {
		return nil, pathError(path, err)
	}
	if len(text) > maxLookupKeyFile {
		return nil, fmt.Errorf("%s: over %d bytes, not a lookup key file (hex digits on one line)", path, maxLookupKeyFile)
	}
	key, err := workflow.ParseLookupKey(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
