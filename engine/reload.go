package engine

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/public"
	"github.com/hoso-vn/hoso/web"
)

// reloader re-reads, on SIGHUP, the files serve may take again without a
// restart: the access file (--access), the TLS certificate and key
// (--tls-cert, --tls-key), the embedded NATS server's users file
// (--nats-users), the public file (--public-config) and the calendar
// year files (--calendar, or the shipped ones). Each is replaced only when its new version loads;
// otherwise the one in force stays, and the failure is logged and
// counted. A calendar year that differs from the calendar in force is
// not swapped in memory but published as a calendar event (calendar.go).
// Turning access control, TLS or NATS users on or off needs a restart.
type reloader struct {
	hup     <-chan os.Signal // SIGHUP, noted from the start of serve
	cfg     Config
	api     *web.Server
	public  *public.Server                  // the public surface; nil without --public-addr
	nats    *natsserver.Server              // the embedded server; nil with --nats-url
	cert    atomic.Pointer[tls.Certificate] // served by getCertificate
	log     *slog.Logger
	metrics *metrics
	// calendar loads the calendar files and publishes what differs from
	// the calendar in force (Engine.syncCalendar).
	calendar func(context.Context) error
}

// getCertificate is the tls.Config hook that serves the current
// certificate to each new connection.
func (r *reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// reload re-reads the access file, the certificate and the NATS users
// file, and puts in force each that loads.
func (r *reloader) reload() error {
	f, err := loadConfigFiles(r.cfg)
	if f.access != nil {
		if serr := r.api.SetAccess(f.access); serr != nil {
			err = errors.Join(err, fmt.Errorf("access file %s: %w", r.cfg.Access, serr))
		} else {
			r.log.Info("access file reloaded", "path", r.cfg.Access, "users", len(f.access.Users()))
		}
	}
	if f.cert != nil {
		r.cert.Store(f.cert)
		r.log.Info("TLS certificate reloaded", "cert", r.cfg.TLSCert, "not_after", f.cert.Leaf.NotAfter)
	}
	if f.natsUsers != nil && r.nats != nil {
		if serr := r.nats.SetUsers(f.natsUsers); serr != nil {
			err = errors.Join(err, fmt.Errorf("nats users file %s: %w", r.cfg.NATSUsers, serr))
		} else {
			r.log.Info("nats users file reloaded", "path", r.cfg.NATSUsers, "users", len(f.natsUsers))
		}
	}
	if f.publicSet && r.public != nil {
		if serr := r.public.SetSettings(f.public); serr != nil {
			err = errors.Join(err, fmt.Errorf("public config %s: %w", r.cfg.PublicConfig, serr))
		} else {
			r.log.Info("public file reloaded", "path", r.cfg.PublicConfig,
				"withheld_agencies", len(f.public.Withhold.Agencies), "withheld_indicators", len(f.public.Withhold.Indicators))
		}
	}
	if r.calendar != nil {
		if cerr := r.calendar(context.Background()); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			r.log.Info("calendar files reloaded", "dir", cmp.Or(r.cfg.Rules.Calendar, "(shipped)"))
		}
	}
	r.metrics.observeReload(err)
	return err
}

// notifyHUP starts noting SIGHUP, which would otherwise end the process:
// serve calls it first thing, and a signal sent while it starts is acted
// on once the reloader runs. stop ends the noting.
func notifyHUP() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}

// run reloads on every SIGHUP until ctx ends.
func (r *reloader) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.hup:
			r.log.Info("SIGHUP: reloading", "access", r.cfg.Access, "tls_cert", r.cfg.TLSCert, "nats_users", r.cfg.NATSUsers, "public_config", r.cfg.PublicConfig,
				"calendar", cmp.Or(r.cfg.Rules.Calendar, "(shipped)"))
			if err := r.reload(); err != nil {
				r.log.Error("reload failed; the previous files stay in force", "err", err)
			}
		}
	}
}
