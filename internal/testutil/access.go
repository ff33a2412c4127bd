package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/web"
)

// AccessUser is a user of an access file a test writes.
type AccessUser struct {
	Name, Role string
	Agencies   []string // the agencies the user is scoped to; nil for all
}

// WriteAccess writes an access file of users, each with a new token, to
// path and returns each user's token by name.
func WriteAccess(t testing.TB, path string, users ...AccessUser) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range users {
		tok, hash, err := web.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.Name] = tok
		b.WriteString("  - name: " + u.Name + "\n    token_sha256: " + hash + "\n    role: " + u.Role + "\n")
		if u.Agencies != nil {
			b.WriteString("    agencies: [" + strings.Join(u.Agencies, ", ") + "]\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return tokens
}

// WriteCert writes a self-signed certificate for 127.0.0.1 named cn and
// its key into dir (cert.pem and key.pem, replacing those there), and
// returns their paths and the certificate.
func WriteCert(t testing.TB, dir, cn string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}
