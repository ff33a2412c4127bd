package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"strings"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/web"
)

// accessCommand manages the HTTP access file (hoso serve --access).
type accessCommand struct{ env }

func (c *accessCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "hash-token" {
		fmt.Fprint(c.stderr, "Usage: hoso access hash-token\n\n"+
			"Prints a new random token, to give to its user, and its SHA-256, to write in\n"+
			"the access file as token_sha256. The token is printed once and stored nowhere.\n")
		return fmt.Errorf("access: want the subcommand hash-token")
	}
	fs := newFlagSet("access hash-token", "access hash-token", c.stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	tok, hash, err := web.NewToken()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "token:        %s\ntoken_sha256: %s\n", tok, hash)
	return err
}

// loadAccess reads the access file; "" means none (open mode).
func loadAccess(path string) (*web.Access, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("access file: %w", err)
	}
	defer f.Close()
	return web.ParseAccess(f, path)
}

// isLoopback reports whether a listen address only takes connections from
// this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateAccess checks the access and TLS settings of ServeConfig.
func (c *ServeConfig) validateAccess() []error {
	var errs []error
	if c.Access == "" && !c.InsecureOpen && !isLoopback(c.HTTPAddr) {
		errs = append(errs, fmt.Errorf("http addr %q: without --access the API is open to anyone; listen on loopback, give an access file, or pass --insecure-open", c.HTTPAddr))
	}
	if c.NATSUsers != "" && c.NATSURL != "" {
		errs = append(errs, fmt.Errorf("nats users: --nats-users configures the embedded server; an external server has its own (configs/nats/), and --nats-url carries the engine's credentials"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, fmt.Errorf("tls: give both --tls-cert and --tls-key, or neither"))
	}
	return errs
}

// loadNATSUsers reads the embedded server's users file; "" means none.
// With users it also makes the engine's own password, new at each start
// and known only to this process.
func loadNATSUsers(path string) (users []events.User, enginePassword string, err error) {
	if path == "" {
		return nil, "", nil
	}
	if users, err = readNATSUsers(path); err != nil {
		return nil, "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", fmt.Errorf("engine password: %w", err)
	}
	return users, hex.EncodeToString(b[:]), nil
}

// readNATSUsers reads and checks the embedded server's users file.
func readNATSUsers(path string) ([]events.User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nats users file: %w", err)
	}
	defer f.Close()
	return events.ParseUsers(f, path)
}

// redactURL hides the passwords of NATS server URLs (one, or several
// separated by commas) for logs and error messages.
func redactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := neturl.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
