package public

// SetDigest replaces the server's digest function (workflow.LookupDigest)
// before it serves, so that a test counts its calls.
func SetDigest(s *Server, f func(key []byte, code, secret string) [32]byte) { s.digest = f }
