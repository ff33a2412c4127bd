package engine

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/public"
	"github.com/hoso-vn/hoso/web"
)

// loadAccess reads the access file; "" means none (open mode).
func loadAccess(path string) (*web.Access, error) {
	if path == "" {
		return nil, nil
	}
	f, err := openConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("access file %w", err)
	}
	defer f.Close()
	return web.ParseAccess(f, path)
}

// openConfigFile opens a file of credentials serve reads, the access file
// or the NATS users file, once it has checked that the file is a regular
// file only its owner may write: whoever may write it gives themselves
// any role, or any NATS permission, at the next reload. Its errors start
// with the path.
func openConfigFile(path string) (*os.File, error) {
	// Checked before it is opened, as opening a named pipe waits for a
	// writer; and again once open, as the file opened is what is read.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	if err := checkConfigFile(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	if fi, err = f.Stat(); err != nil {
		err = pathError(path, err)
	} else {
		err = checkConfigFile(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkConfigFile refuses a file that is not regular, or that its group
// or others may write.
func checkConfigFile(path string, fi os.FileInfo) error {
	switch m := fi.Mode(); {
	case !m.IsRegular():
		return fmt.Errorf("%s is %s, not a regular file", path, fileKind(m))
	case m.Perm()&0o022 != 0:
		return fmt.Errorf("%s: mode %04o lets others than its owner write it; run chmod 600 %s", path, m.Perm(), path)
	}
	return nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "of type " + m.Type().String()
}

// pathError is err of an operation on path, as "path: what went wrong".
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
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

// validateAccess checks the access and TLS settings of Config.
func (c *Config) validateAccess() []error {
	var errs []error
	if c.Access == "" && !c.InsecureOpen && !isLoopback(c.HTTPAddr) {
		errs = append(errs, fmt.Errorf("http addr %q: without --access the API is open to anyone; listen on loopback, give an access file, or pass --insecure-open", c.HTTPAddr))
	}
	if (c.NATSCert == "") != (c.NATSKey == "") {
		errs = append(errs, errors.New("nats tls: give both --nats-cert and --nats-key, or neither"))
	}
	if c.NATSURL == "" && (c.NATSCA != "" || c.NATSCert != "") {
		errs = append(errs, errors.New("nats tls: --nats-ca and --nats-cert are for the servers of --nats-url; the embedded server listens on loopback without TLS"))
	}
	if c.NATSURL == "" && (c.NATSUser != "" || c.NATSCreds != "") {
		errs = append(errs, errors.New("nats user: --nats-user and --nats-creds are hoso's credentials on the servers of --nats-url; the embedded server makes its own"))
	}
	if c.NATSUsers != "" && c.NATSURL != "" {
		errs = append(errs, fmt.Errorf("nats users: --nats-users configures the embedded server; an external server has its own (configs/nats/), and --nats-url carries the engine's credentials"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, fmt.Errorf("tls: give both --tls-cert and --tls-key, or neither"))
	}
	return errs
}

// configFiles are the files serve loads at start, again on SIGHUP, and
// with --check: each nil when its flag is not given or it did not load.
type configFiles struct {
	access    *web.Access       // --access
	cert      *tls.Certificate  // --tls-cert and --tls-key
	natsUsers []natsserver.User // --nats-users
	public    public.Settings   // --public-config; the zero value without it
	publicSet bool              // public was read from --public-config
	lookupKey []byte            // --public-lookup-key
}

// loadConfigFiles loads each file cfg names on its own, and returns an
// error naming each that does not load.
func loadConfigFiles(cfg Config) (configFiles, error) {
	var (
		f    configFiles
		errs []error
		err  error
	)
	if cfg.Access != "" {
		if f.access, err = loadAccess(cfg.Access); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.TLSCert != "" {
		if c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			errs = append(errs, fmt.Errorf("TLS certificate %s: %w", cfg.TLSCert, err))
		} else {
			f.cert = &c
		}
	}
	if cfg.NATSUsers != "" {
		if f.natsUsers, err = readNATSUsers(cfg.NATSUsers); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.PublicConfig != "" {
		if f.public, err = readPublicSettings(cfg.PublicConfig); err != nil {
			errs = append(errs, err)
		} else {
			f.publicSet = true
		}
	}
	if cfg.PublicLookupKey != "" {
		if f.lookupKey, err = ReadLookupKey(cfg.PublicLookupKey); err != nil {
			errs = append(errs, fmt.Errorf("public lookup key %w", err))
		}
	}
	return f, errors.Join(errs...)
}

// readPublicSettings reads and checks the public file.
func readPublicSettings(path string) (public.Settings, error) {
	f, err := openConfigFile(path)
	if err != nil {
		return public.Settings{}, fmt.Errorf("public config %w", err)
	}
	defer f.Close()
	return public.ParseSettings(f, path)
}

// enginePassword makes the engine's own password on an embedded server
// with users, new at each start and known only to this process.
func enginePassword() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("engine password: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// readNATSUsers reads and checks the embedded server's users file.
func readNATSUsers(path string) ([]natsserver.User, error) {
	f, err := openConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats users file %w", err)
	}
	defer f.Close()
	return natsserver.ParseUsers(f, path)
}
