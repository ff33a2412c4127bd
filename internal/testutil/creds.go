package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// StartCredsNATS starts a NATS server with JetStream in operator mode:
// clients authenticate with a user JWT signed by an account key and the
// user's nkey, as a credentials file carries them (nats.UserCredentials,
// --nats-creds). It sets up hoso's streams, and returns the server's URL
// and the credentials file of a user of the one account.
func StartCredsNATS(t testing.TB, dir string) (url, credsFile string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	key := func(create func() (nkeys.KeyPair, error)) (nkeys.KeyPair, string) {
		kp, err := create()
		must(err)
		pub, err := kp.PublicKey()
		must(err)
		return kp, pub
	}
	okp, opub := key(nkeys.CreateOperator)
	operator := jwt.NewOperatorClaims(opub)
	_, err := operator.Encode(okp)
	must(err)
	_, syspub := key(nkeys.CreateAccount)
	sys := jwt.NewAccountClaims(syspub)
	sysJWT, err := sys.Encode(okp)
	must(err)
	akp, apub := key(nkeys.CreateAccount)
	account := jwt.NewAccountClaims(apub)
	account.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accountJWT, err := account.Encode(okp)
	must(err)
	ukp, upub := key(nkeys.CreateUser)
	userJWT, err := jwt.NewUserClaims(upub).Encode(akp)
	must(err)
	seed, err := ukp.Seed()
	must(err)
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	credsFile = filepath.Join(dir, "user.creds")
	must(os.WriteFile(credsFile, creds, 0o600))

	resolver := &server.MemAccResolver{}
	must(resolver.Store(syspub, sysJWT))
	must(resolver.Store(apub, accountJWT))
	url = startJetStream(t, "nats", &server.Options{StoreDir: filepath.Join(dir, "jetstream"),
		TrustedOperators: []*jwt.OperatorClaims{operator}, SystemAccount: syspub, AccountResolver: resolver},
		nats.UserCredentials(credsFile))
	return url, credsFile
}
