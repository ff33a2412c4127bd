package natsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hoso-vn/hoso/events"

	"github.com/nats-io/nats-server/v2/server"
)

// Defaults of ServerConfig.
const (
	DefaultHost = "127.0.0.1"
	DefaultPort = 4222
)

// readyTimeout bounds how long StartServer waits for the server to accept
// clients.
const readyTimeout = 10 * time.Second

// ErrNoStoreDir is returned by StartServer when ServerConfig.Dir is empty.
var ErrNoStoreDir = errors.New("events: server store directory is required")

// ServerConfig configures the embedded NATS server.
type ServerConfig struct {
	// Dir is the JetStream store directory. Required.
	Dir string
	// Host is the client listen address; "" means DefaultHost (loopback).
	Host string
	// Port is the client port; 0 means DefaultPort (4222), -1 a random free
	// port (tests: read it back with ClientURL).
	Port int
	// SyncInterval is how often JetStream flushes its files to disk; 0
	// means the server's default (2 minutes). Between flushes an OS crash
	// or power loss (not a process crash) can lose messages whose publish
	// was already acknowledged.
	SyncInterval time.Duration
	// SyncAlways makes JetStream fsync every write: no acknowledged message
	// is lost to an OS crash, at a large cost in publish throughput.
	SyncAlways bool
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// Users are the source systems' and supervisors' users, each limited
	// by User.Permissions. When set, the server refuses clients without a
	// user, and EnginePassword is required: it is the password of
	// EngineUser, hoso's own user, which may publish and subscribe to
	// everything. Nil leaves the server open to any client (first run).
	Users []User
	// EnginePassword is EngineUser's password; serve makes a random one
	// at each start. Required with Users.
	EnginePassword string
}

// Server is an embedded NATS server with JetStream enabled: hoso's default
// deployment, one process with nothing else to install. Its methods are
// safe for concurrent use.
type Server struct {
	ns     atomic.Pointer[server.Server] // the running server; replaced by a restart
	logger *slog.Logger                  // ServerConfig.Logger

	mu             sync.Mutex      // serializes SetUsers, BlockSource and restarts; guards the three below
	opts           *server.Options // in force; its Port the one listened on
	users          []User          // as last given (ServerConfig.Users, SetUsers)
	blocked        map[string]bool // sources that may not publish events now (BlockSource)
	enginePassword string          // "" when the server has no users
	stopped        bool            // Shutdown was called: no more restarts
}

// StartServer starts an embedded NATS server with JetStream (file storage
// under cfg.Dir) and waits until it accepts clients. The server installs no
// signal handlers and serves no HTTP monitoring port; its log goes to
// cfg.Logger. Call Shutdown to stop it.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Dir == "" {
		return nil, ErrNoStoreDir
	}
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	opts := &server.Options{
		ServerName:   "hoso",
		Host:         cfg.Host,
		Port:         cfg.Port,
		NoSigs:       true,
		JetStream:    true,
		StoreDir:     cfg.Dir,
		SyncInterval: cfg.SyncInterval,
		SyncAlways:   cfg.SyncAlways,
	}
	if len(cfg.Users) > 0 {
		if cfg.EnginePassword == "" {
			return nil, errors.New("events: start server: users need an engine password")
		}
		opts.Users, opts.Nkeys = serverUsers(cfg.Users, nil, cfg.EnginePassword)
	}
	ns, err := start(opts, cfg.Logger)
	if err != nil {
		return nil, err
	}
	// A restart listens on the same port, also when the first start
	// picked a free one, and keeps the storage JetStream took at the
	// first start (75 % of the disk then free): counted again on a disk
	// that just filled, it would be next to nothing.
	if a, ok := ns.Addr().(*net.TCPAddr); ok {
		opts.Port = a.Port
	}
	if jsc := ns.JetStreamConfig(); jsc != nil {
		opts.JetStreamMaxStore, opts.JetStreamMaxMemory = jsc.MaxStore, jsc.MaxMemory
	}
	s := &Server{logger: cfg.Logger, opts: opts, users: cfg.Users, blocked: map[string]bool{}, enginePassword: cfg.EnginePassword}
	s.ns.Store(ns)
	return s, nil
}

// start starts a server with opts and waits until it accepts clients with
// JetStream enabled.
func start(opts *server.Options, logger *slog.Logger) (*server.Server, error) {
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("events: start server: %w", err)
	}
	lg := newServerLogger(logger)
	ns.SetLoggerV2(lg, lg.debug, false, false)
	go ns.Start()

	// Poll readiness in short steps so that a fatal start error (port in
	// use, store directory locked) fails now rather than after readyTimeout.
	deadline := time.Now().Add(readyTimeout)
	for {
		if msg := lg.fatal(); msg != "" {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, fmt.Errorf("events: start server: %s", msg)
		}
		if ns.ReadyForConnections(100 * time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, fmt.Errorf("events: start server: not ready for connections after %s", readyTimeout)
		}
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("events: start server: JetStream is not enabled")
	}
	return ns, nil
}

// JetStreamHealth returns nil if the server's JetStream runs and every
// stream can be written, or what is wrong: JetStream off, or a stream
// that hit a write error. A write that finds the disk full leaves the
// stream refusing every later write ("critical write error") until its
// files are opened again (KeepJetStream), even once space is back.
func (s *Server) JetStreamHealth() error {
	h := s.ns.Load().Healthz(&server.HealthzOptions{})
	if h.Status == "ok" {
		return nil
	}
	if h.Error != "" {
		return errors.New(h.Error)
	}
	return fmt.Errorf("jetstream %s", h.Status)
}

// KeepJetStream watches JetStream until ctx ends, then returns nil: every
// interval that JetStreamHealth finds it off or a stream unwritable (its
// disk filled) and its disk has room again, it restarts the server on
// the same port and files, so that it takes events again by itself once
// space is freed, without a restart of the process. Clients see a disconnection and reconnect (the
// engine's connection retries forever). While the disk is still full the
// stream fails again at its next write and a later interval tries again.
// Each restart is logged. (Restarting JetStream alone inside a running
// server races with the clients' requests in nats-server.)
func (s *Server) KeepJetStream(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// A restart that does not cure the server (a stream it cannot
	// recover, say) must not disconnect every client each interval: the
	// wait between restarts doubles up to restartMaxWait until the server
	// is healthy again.
	var next time.Time
	wait := interval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		herr := s.JetStreamHealth()
		if herr == nil {
			wait = interval
			continue
		}
		if time.Now().Before(next) {
			continue
		}
		if free, err := freeBytes(s.storeDir()); err == nil && free < restartMinFree {
			continue // still full: a restart would fail at its first write
		}
		next, wait = time.Now().Add(wait), min(2*wait, restartMaxWait)
		if err := s.restart(); err != nil {
			log.Warn("restart the embedded nats server", "cause", herr, "err", err)
			continue
		}
		log.Warn("embedded nats server restarted", "cause", herr, "health", errString(s.JetStreamHealth()))
	}
}

// restartMaxWait is the longest KeepJetStream waits between restarts that
// do not make the server healthy.
const restartMaxWait = 5 * time.Minute

// restartMinFree is the free space the store directory's disk needs
// before KeepJetStream restarts the server.
const restartMinFree = 4 << 20

func (s *Server) storeDir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.StoreDir
}

// freeBytes returns the space an unprivileged writer has on dir's disk.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// restart shuts the server down and starts it again with the options in
// force. If the new start fails the old server stays stopped, and a later
// restart tries again.
func (s *Server) restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("events: server shut down")
	}
	old := s.ns.Load()
	old.Shutdown()
	old.WaitForShutdown()
	ns, err := start(s.opts.Clone(), s.logger)
	if err != nil {
		return err
	}
	s.ns.Store(ns)
	return nil
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// serverUsers returns the server's users and nkey users: EngineUser with
// enginePassword and every user of users with its permissions, less the
// publishing of events for the users of a blocked source.
func serverUsers(users []User, blocked map[string]bool, enginePassword string) ([]*server.User, []*server.NkeyUser) {
	pw := []*server.User{{Username: events.EngineUser, Password: enginePassword}}
	var nk []*server.NkeyUser
	for i := range users {
		u := &users[i]
		perms := u.Permissions()
		if !u.Supervisor && blocked[u.Source] {
			perms = BlockedSourcePermissions(u.Source)
		}
		if u.NKey != "" {
			nk = append(nk, &server.NkeyUser{Nkey: u.NKey, Permissions: perms})
			continue
		}
		pw = append(pw, &server.User{Username: u.Name, Password: u.Password, Permissions: perms})
	}
	return pw, nk
}

// ErrUsersOff is returned by SetUsers on a server started without users:
// authentication is turned on or off only at start.
var ErrUsersOff = errors.New("events: the server has no users; they are turned on at start")

// SetUsers replaces the users of a server started with
// ServerConfig.Users (hoso's own user stays). The server closes the
// connections of users no longer listed, as an authorization violation,
// and applies the new permissions to the others.
func (s *Server) SetUsers(users []User) error {
	if s.enginePassword == "" {
		return ErrUsersOff
	}
	if len(users) == 0 {
		return errors.New("events: set users: no users (removing them all needs a restart without --nats-users)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.apply(users, s.blocked); err != nil {
		return fmt.Errorf("events: set users: %w", err)
	}
	s.users = users
	return nil
}

// BlockSource withdraws (blocked true) or gives back the permission of
// the source's users to publish events: while blocked, the server refuses
// their publishes on hoso.events.<source>.> as permission violations,
// and they keep reading their outcomes. A block outlives SetUsers. It
// returns ErrUsersOff on a server without users.
func (s *Server) BlockSource(source string, blocked bool) error {
	if s.enginePassword == "" {
		return ErrUsersOff
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked[source] == blocked {
		return nil
	}
	next := maps.Clone(s.blocked)
	if blocked {
		next[source] = true
	} else {
		delete(next, source)
	}
	if err := s.apply(s.users, next); err != nil {
		return fmt.Errorf("events: block source %s: %w", source, err)
	}
	s.blocked = next
	return nil
}

// apply puts the users with the blocks in force. s.mu is held.
func (s *Server) apply(users []User, blocked map[string]bool) error {
	opts := s.opts.Clone()
	opts.Users, opts.Nkeys = serverUsers(users, blocked, s.enginePassword)
	if err := s.ns.Load().ReloadOptions(opts); err != nil {
		return err
	}
	s.opts = opts
	return nil
}

// ClientURL returns the URL clients connect to, e.g. "nats://127.0.0.1:4222".
func (s *Server) ClientURL() string { return s.ns.Load().ClientURL() }

// InProcessConn returns a connection to the server that bypasses the
// network. It makes Server a nats.InProcessConnProvider: connect with
// nats.Connect("", nats.InProcessServer(s)).
func (s *Server) InProcessConn() (net.Conn, error) { return s.ns.Load().InProcessConn() }

// Shutdown stops the server, flushing JetStream to disk, and waits until it
// has stopped. Drain client connections first. Shutdown may be called more
// than once.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	ns := s.ns.Load()
	ns.Shutdown()
	ns.WaitForShutdown()
}

// serverLogger routes the server's log into slog: notices at Info,
// warnings at Warn, errors and fatal errors at Error, debug and trace at
// Debug. A fatal error does not exit the process; StartServer reports it.
type serverLogger struct {
	log   *slog.Logger
	debug bool // whether the server should produce debug lines at all

	mu       sync.Mutex // guards fatalMsg
	fatalMsg string     // the first fatal error logged; "" if none
}

func newServerLogger(l *slog.Logger) *serverLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &serverLogger{log: l, debug: l.Enabled(context.Background(), slog.LevelDebug)}
}

func (l *serverLogger) out(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, "nats server", "detail", fmt.Sprintf(format, v...))
}

// Noticef logs at debug: the server's notices are its start-up banner and
// routine events; hoso logs what an operator needs (the listen address).
func (l *serverLogger) Noticef(format string, v ...any) { l.out(slog.LevelDebug, format, v) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.out(slog.LevelWarn, format, v) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.out(slog.LevelError, format, v) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.out(slog.LevelDebug, format, v) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.out(slog.LevelDebug, format, v) }

func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error("nats server fatal", "detail", msg)
	l.mu.Lock()
	if l.fatalMsg == "" {
		l.fatalMsg = msg
	}
	l.mu.Unlock()
}

func (l *serverLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalMsg
}
