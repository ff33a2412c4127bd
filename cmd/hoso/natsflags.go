package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/events"
)

// natsFlags are the flags of the commands that connect to NATS as a
// client (emit, simulate, rebuild, audit verify --public-key): the
// servers, one URL or the several of a cluster; the credentials, a user
// and password (also given in the URL) or a credentials file; and TLS,
// the CA the servers' certificates are checked against and a client
// certificate for servers that ask for one.
type natsFlags struct {
	url, user, password, creds string
	ca, cert, key              string
}

// addNATSFlags registers --nats-url (with the default def and what the
// server is for) and the credentials' flags, each with its environment
// variable.
func addNATSFlags(fs *flag.FlagSet, getenv func(string) string, def, what string) *natsFlags {
	f := &natsFlags{}
	fs.StringVar(&f.url, "nats-url", envOr(getenv, "HOSO_NATS_URL", def), what+"; the URLs of a cluster's servers separated by commas (env HOSO_NATS_URL)")
	fs.StringVar(&f.user, "nats-user", envOr(getenv, "HOSO_NATS_USER", ""), "NATS user: a source's, the supervisors' or hoso's own, as the command needs (env HOSO_NATS_USER)")
	fs.StringVar(&f.password, "nats-password", envOr(getenv, "HOSO_NATS_PASSWORD", ""), "password of --nats-user (env HOSO_NATS_PASSWORD; prefer it: flags show in ps)")
	fs.StringVar(&f.creds, "nats-creds", envOr(getenv, "HOSO_NATS_CREDS", ""), "NATS credentials file (JWT and NKey) instead of a user and password (env HOSO_NATS_CREDS)")
	fs.StringVar(&f.ca, "nats-ca", envOr(getenv, "HOSO_NATS_CA", ""), "PEM certificates of the CA the NATS servers' TLS certificates are checked against, instead of the system's (env HOSO_NATS_CA)")
	fs.StringVar(&f.cert, "nats-cert", envOr(getenv, "HOSO_NATS_CERT", ""), "PEM client certificate, with --nats-key, for NATS servers that ask for one (env HOSO_NATS_CERT)")
	fs.StringVar(&f.key, "nats-key", envOr(getenv, "HOSO_NATS_KEY", ""), "PEM private key of --nats-cert (env HOSO_NATS_KEY)")
	return f
}

// options returns the connection's options: its name, the credentials,
// and the inbox prefix the user may read (events.InboxPrefix) of inbox,
// or else of the user's name.
func (f *natsFlags) options(name, inbox string) []nats.Option {
	opts := []nats.Option{nats.Name(name), nats.Timeout(5 * time.Second)}
	user := f.user
	if f.user != "" {
		opts = append(opts, nats.UserInfo(f.user, f.password))
	} else if u, err := url.Parse(strings.TrimSpace(strings.Split(f.url, ",")[0])); err == nil && u.User != nil {
		user = u.User.Username()
	}
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	opts = append(opts, events.TLSOptions(f.ca, f.cert, f.key)...)
	if inbox == "" {
		inbox = user
	}
	if inbox != "" {
		// A source or the supervisors may read only their own inboxes
		// (natsserver.SourcePermissions, SupervisorPermissions).
		opts = append(opts, nats.CustomInboxPrefix(events.InboxPrefix(inbox)))
	}
	return opts
}

// connect connects to the servers as options says.
func (f *natsFlags) connect(name, inbox string) (*nats.Conn, error) {
	nc, err := nats.Connect(f.url, f.options(name, inbox)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s (is `hoso serve` running? see --nats-url): %w", events.RedactURL(f.url), err)
	}
	return nc, nil
}
