package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hoso-vn/hoso/workflow"
)

// maxLookupKeyFile bounds what readLookupKey reads: a key's hex with its
// line end is far shorter.
const maxLookupKeyFile = 4096

// readLookupKey reads the deployment's lookup key from its file: hex
// digits on one line (workflow.ParseLookupKey), e.g. written by
// `openssl rand -hex 32 > lookup.key`.
func readLookupKey(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, maxLookupKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(text) > maxLookupKeyFile {
		return nil, fmt.Errorf("%s: over %d bytes, not a lookup key file (hex digits on one line)", name, maxLookupKeyFile)
	}
	key, err := workflow.ParseLookupKey(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key, nil
}
