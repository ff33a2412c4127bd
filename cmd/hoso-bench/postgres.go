package main

// The PostgreSQL peer of hoso-bench: what one-stop-shop software does today
// with a relational database, so that hoso's figures have something to be
// compared with. A dossier is a row with a status column; a table lists the
// legal transitions; each event is one transaction that locks the dossier's
// row, looks the transition up, moves the status, appends to the dossier's
// history and writes an audit row, and commits durably (synchronous_commit
// on, PostgreSQL's default), as hoso commits a batch before it acks.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoso-vn/hoso/simulate"
	"github.com/hoso-vn/hoso/workflow"
)

// postgres runs the PostgreSQL peer at each client count, on the first
// cfg.PGEvents events of the stream, cfg.Runs times each.
func (c *benchCommand) postgres(ctx context.Context, cfg benchConfig, dir string, cat *workflow.Catalog, items []simulate.Item) ([]benchRate, error) {
	dsn := cfg.Postgres
	if dsn == "start" {
		d, stop, err := startPostgres(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer stop()
		dsn = d
	}
	items = items[:min(len(items), cfg.PGEvents)]
	var rates []benchRate
	for _, clients := range cfg.PGClients {
		r := benchRate{Name: fmt.Sprintf("postgres-%d", clients),
			What: fmt.Sprintf("PostgreSQL 15, %d client(s): status column, transition table, audit row, one transaction per event", clients)}
		for run := range cfg.Runs {
			pr, err := runPGPeer(ctx, dsn, cat, items, clients)
			if err != nil {
				return nil, fmt.Errorf("%d clients: %w", clients, err)
			}
			r.Events = pr.Events
			r.Runs = append(r.Runs, pr.PerSecond())
			c.logf("run %d: postgres, %d clients: %s events/s", run+1, clients, commas(int(r.Runs[run])))
		}
		rates = append(rates, r.done())
	}
	return rates, nil
}

// pgPeerResult is what one run of the PostgreSQL peer measured.
type pgPeerResult struct {
	Clients int // concurrent clients, each with its own connection
	// Events is the number of events committed, accepted or rejected:
	// each is one transaction.
	Events int
	// Rejected is the number of events the peer refused: the transitions
	// table has no row for the dossier's status and the action, or the
	// event id is already recorded (a repeat). Each still wrote its audit
	// row and committed.
	Rejected int
	// Skipped is the number of unreadable items (Item.Event nil): software
	// that cannot parse a message has nothing to write, so they get no
	// transaction and are not in Events.
	Skipped int
	// Elapsed is the wall time from the first transaction to the last
	// commit, connections and schema already set up. Events/s is
	// Events / Elapsed.
	Elapsed time.Duration
	// Schema is the fresh schema the run's tables are in, left in place
	// so that they can be inspected.
	Schema string
}

// PerSecond returns the events committed per second.
func (r pgPeerResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// pgSchema is the peer's tables. A status is a state name of the
// definition, as hoso keeps it: several states share one national status
// code, so transitions keyed by the code would be ambiguous.
const pgSchema = `
CREATE TABLE dossiers (
	code       text PRIMARY KEY,
	procedure  text NOT NULL,
	agency     text NOT NULL,
	status     text NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE TABLE transitions (
	procedure   text NOT NULL, -- a procedure code, or '*' for every procedure no definition names
	from_status text NOT NULL,
	action      text NOT NULL,
	to_status   text NOT NULL,
	PRIMARY KEY (procedure, from_status, action)
);
CREATE TABLE dossier_events (
	id          bigserial PRIMARY KEY,
	code        text NOT NULL,
	action      text NOT NULL,
	from_status text NOT NULL,
	to_status   text NOT NULL,
	at          timestamptz NOT NULL,
	event_id    text NOT NULL UNIQUE
);
CREATE INDEX dossier_events_code ON dossier_events (code, id);
CREATE TABLE audit (
	id     bigserial PRIMARY KEY,
	code   text NOT NULL,
	actor  text NOT NULL,
	detail jsonb NOT NULL,
	at     timestamptz NOT NULL
);
CREATE INDEX audit_code ON audit (code, id);
`

// The statements of one event's transaction.
const (
	pgLockDossier = `SELECT procedure, status FROM dossiers WHERE code = $1 FOR UPDATE`
	// A procedure some definition names has its own rows; any other
	// follows the '*' rows, as workflow.Catalog.Resolve does.
	pgLookupTransition = `SELECT to_status FROM transitions
WHERE procedure = CASE WHEN EXISTS (SELECT 1 FROM transitions WHERE procedure = $1) THEN $1 ELSE '*' END
  AND from_status = $2 AND action = $3`
	pgInsertEvent = `INSERT INTO dossier_events (code, action, from_status, to_status, at, event_id)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`
	pgInsertDossier = `INSERT INTO dossiers (code, procedure, agency, status, updated_at) VALUES ($1, $2, $3, $4, $5)`
	pgUpdateDossier = `UPDATE dossiers SET status = $2, agency = COALESCE(NULLIF($3, ''), agency), updated_at = $4 WHERE code = $1`
	pgInsertAudit   = `INSERT INTO audit (code, actor, detail, at) VALUES ($1, $2, $3, $4)`
)

// pgTransition is one row of the peer's transitions table.
type pgTransition struct {
	Procedure, From, Action, To string
}

// pgTransitions returns the transitions table for a stream starting at
// start: for every procedure key of the catalog (the codes definitions
// name, and "*"), every (state, action) → state of the definition
// Resolve gives for it at start, or of its latest version if none is in
// force yet. A one-stop-shop keeps one table, not one per version, so
// dossiers of a stream spanning a new version's effective date follow the
// older one; hoso pins each dossier to the version of its first event.
// A Stay action (an apology) leads back to the state it leaves.
func pgTransitions(cat *workflow.Catalog, start time.Time) []pgTransition {
	keys := map[string]bool{}
	for _, d := range cat.Definitions() {
		for _, p := range d.Procedures {
			keys[p] = true
		}
	}
	var out []pgTransition
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		def := cat.Resolve(key, start)
		if def == nil {
			def = cat.Resolve(key, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		if def == nil {
			continue
		}
		for _, a := range def.Actions {
			for _, from := range a.From {
				to := a.To
				if a.Stay {
					to = from
				}
				out = append(out, pgTransition{Procedure: key, From: from, Action: a.Name, To: to})
			}
		}
	}
	return out
}

// runPGPeer runs the peer against the server at dsn over items (the
// simulator's stream, in order) with the given number of concurrent
// clients, its transitions table filled from cat. It creates a
// fresh schema, so runs against one server are independent, fills the
// transitions table, then replays the readable items split among the
// clients by pgSplit, each client in stream order. It stops at the first
// error (after the other clients finish their current transaction).
func runPGPeer(ctx context.Context, dsn string, cat *workflow.Catalog, items []simulate.Item, clients int) (pgPeerResult, error) {
	res := pgPeerResult{Clients: clients}
	if clients < 1 {
		return res, fmt.Errorf("postgres peer: %d clients, want at least 1", clients)
	}
	var evs []*workflow.Event
	for _, it := range items {
		if it.Event == nil {
			res.Skipped++
			continue
		}
		evs = append(evs, it.Event)
	}
	var start time.Time
	if len(evs) > 0 {
		start = evs[0].Time
	}
	parts := pgSplit(evs, clients)

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return res, fmt.Errorf("postgres peer: %w", err)
	}
	schema, err := pgCreateSchema(ctx, cfg, pgTransitions(cat, start))
	if err != nil {
		return res, fmt.Errorf("postgres peer: %w", err)
	}
	res.Schema = schema
	cfg.RuntimeParams["search_path"] = schema

	conns := make([]*pgx.Conn, clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.Background())
			}
		}
	}()
	for i := range conns {
		if conns[i], err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return res, fmt.Errorf("postgres peer: connect client %d: %w", i, err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards firstErr and res.Events, res.Rejected
		firstErr error
	)
	began := time.Now()
	for i, part := range parts {
		wg.Go(func() {
			var events, rejected int
			for _, e := range part {
				ok, err := pgApply(ctx, conns[i], e)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("postgres peer: client %d: %s %s: %w", i, e.Action, e.Dossier, err)
					}
					mu.Unlock()
					cancel()
					break
				}
				events++
				if !ok {
					rejected++
				}
			}
			mu.Lock()
			res.Events += events
			res.Rejected += rejected
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(began)
	return res, firstErr
}

// pgSplit splits the events among clients by dossier, so that each
// dossier's events stay in stream order on one client, and evenly: the
// dossiers, most events first, each go to the client with the fewest
// events so far. A split by a hash of the code would leave some of 64
// clients with half as many events again as the mean, and the run's time
// is that of its busiest client.
func pgSplit(evs []*workflow.Event, clients int) [][]*workflow.Event {
	count := map[string]int{}
	var order []string // dossiers in order of their first event
	for _, e := range evs {
		if count[e.Dossier] == 0 {
			order = append(order, e.Dossier)
		}
		count[e.Dossier]++
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(count[b], count[a]) })
	load := make([]int, clients)
	client := make(map[string]int, len(order))
	for _, d := range order {
		i := slices.Index(load, slices.Min(load))
		client[d] = i
		load[i] += count[d]
	}
	parts := make([][]*workflow.Event, clients)
	for _, e := range evs {
		i := client[e.Dossier]
		parts[i] = append(parts[i], e)
	}
	return parts
}

// pgCreateSchema creates a new schema with the peer's tables and fills its
// transitions table, and returns the schema's name.
func pgCreateSchema(ctx context.Context, cfg *pgx.ConnConfig, ts []pgTransition) (string, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	schema := "peer_" + time.Now().UTC().Format("20060102_150405") + "_" + randomHex(4)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema+"; SET LOCAL search_path TO "+schema+";"+pgSchema); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	rows := make([][]any, len(ts))
	for i, t := range ts {
		rows[i] = []any{t.Procedure, t.From, t.Action, t.To}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "transitions"},
		[]string{"procedure", "from_status", "action", "to_status"}, pgx.CopyFromRows(rows)); err != nil {
		return "", fmt.Errorf("fill transitions: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	return schema, nil
}

// pgAudit is the detail of an audit row.
type pgAudit struct {
	EventID  string `json:"event_id"`
	Action   string `json:"action"`
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"` // why it was refused
}

// pgApply applies one event in one transaction and reports whether it was
// accepted. A refused event still writes its audit row and commits.
func pgApply(ctx context.Context, conn *pgx.Conn, e *workflow.Event) (accepted bool, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background())

	procedure, from := e.Procedure, workflow.StartState
	known := true
	switch err := tx.QueryRow(ctx, pgLockDossier, e.Dossier).Scan(&procedure, &from); {
	case errors.Is(err, pgx.ErrNoRows):
		known = false
	case err != nil:
		return false, fmt.Errorf("lock dossier: %w", err)
	}
	audit := pgAudit{EventID: e.ID, Action: e.Action, From: from}
	var to string
	switch err := tx.QueryRow(ctx, pgLookupTransition, procedure, from, e.Action).Scan(&to); {
	case errors.Is(err, pgx.ErrNoRows):
		audit.Reason = "invalid_transition"
	case err != nil:
		return false, fmt.Errorf("look up transition: %w", err)
	default:
		tag, err := tx.Exec(ctx, pgInsertEvent, e.Dossier, e.Action, from, to, e.Time, e.ID)
		if err != nil {
			return false, fmt.Errorf("insert history: %w", err)
		}
		if tag.RowsAffected() == 0 {
			audit.Reason = "duplicate"
			break
		}
		if known {
			_, err = tx.Exec(ctx, pgUpdateDossier, e.Dossier, to, e.Agency, e.Time)
		} else {
			_, err = tx.Exec(ctx, pgInsertDossier, e.Dossier, procedure, e.Agency, to, e.Time)
		}
		if err != nil {
			return false, fmt.Errorf("write dossier: %w", err)
		}
		audit.To, audit.Accepted = to, true
	}
	detail, err := json.Marshal(audit)
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, pgInsertAudit, e.Dossier, e.Actor, string(detail), e.Time); err != nil {
		return false, fmt.Errorf("insert audit: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return audit.Accepted, nil
}

// pgMaxClients is the most clients --pg-clients may ask of the peer.
const pgMaxClients = 256

// pgMaxConnections is the max_connections of the throwaway server: a
// connection per client, the one creating a run's schema, and the three
// PostgreSQL reserves for superusers (superuser_reserved_connections),
// with some to spare.
const pgMaxConnections = pgMaxClients + 16

// pgBinGlob is where Debian's postgresql packages put the server binaries.
const pgBinGlob = "/usr/lib/postgresql/*/bin"

// pgUser is the user the server runs as when hoso runs as root: initdb
// and postgres refuse root. Debian's package creates it.
const pgUser = "postgres"

// startPostgres starts a throwaway PostgreSQL server from Debian's
// packages (the newest version under /usr/lib/postgresql) in dir,
// listening on 127.0.0.1 on a free random port and on no Unix socket, and
// returns its DSN and a func that stops it (a fast shutdown) and waits for
// it. The superuser "hoso" has a random password (scram-sha-256), so other
// local users cannot connect. ctx bounds the start only; the server runs
// until stop is called, and outlives the process if stop is not called.
//
// When running as root the server runs as the postgres user, and its data
// directory is a new directory under os.TempDir() that stop removes: the
// ancestors of dir (a test's temporary directory, say) are usually closed
// to other users. It returns an error naming the package to install if
// the binaries are absent.
func startPostgres(ctx context.Context, dir string) (dsn string, stop func() error, err error) {
	bin, err := pgBinDir()
	if err != nil {
		return "", nil, err
	}
	// as returns the command running a binary of bin as the server's
	// user. As root that goes through setpriv (util-linux), which execs
	// the binary: the process started is the server itself, and stop's
	// signal reaches it.
	as := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	}
	owner := -1 // uid to chown files to; -1 when running as ourselves
	base, cleanup := filepath.Join(dir, "postgres"), func() error { return nil }
	if os.Geteuid() == 0 {
		u, err := user.Lookup(pgUser)
		if err != nil {
			return "", nil, fmt.Errorf("postgres: running as root and no %s user to run the server as (apt-get install postgresql creates it): %w", pgUser, err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		owner = int(uid)
		as = func(ctx context.Context, name string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, "setpriv", append([]string{
				"--reuid", u.Uid, "--regid", u.Gid, "--clear-groups", "--", filepath.Join(bin, name)}, args...)...)
		}
		if base, err = os.MkdirTemp("", "hoso-postgres-"); err != nil {
			return "", nil, fmt.Errorf("postgres: %w", err)
		}
		cleanup = func() error { return os.RemoveAll(base) }
		if err := os.Chown(base, int(uid), int(gid)); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("postgres: %w", err)
		}
	} else if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	fail := func(err error) (string, func() error, error) {
		return "", nil, errors.Join(err, cleanup())
	}

	data := filepath.Join(base, "data")
	password := randomHex(16)
	pwfile := filepath.Join(base, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return fail(fmt.Errorf("postgres: %w", err))
	}
	if owner >= 0 {
		if err := os.Chown(pwfile, owner, -1); err != nil {
			return fail(fmt.Errorf("postgres: %w", err))
		}
	}
	initdb := as(ctx, "initdb", "-D", data, "-U", "hoso",
		"--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C",
		"--no-sync", "--no-instructions")
	initdb.Dir = base
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("postgres: initdb: %w\n%s", err, out))
	}
	os.Remove(pwfile)

	// A port found free may be taken before the server binds it: try again.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return fail(fmt.Errorf("postgres: %w", err))
		}
		srv, err := runPostgres(as(context.Background(), "postgres"), base, data, port)
		if err != nil {
			return fail(err)
		}
		dsn := fmt.Sprintf("postgres://hoso:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port)
		err = pgReady(ctx, dsn, srv.exited)
		if err == nil {
			return dsn, func() error { return errors.Join(srv.stop(), cleanup()) }, nil
		}
		srv.stop() // its log says why it did not start
		lastErr = fmt.Errorf("%w\n%s", err, srv.log)
		if ctx.Err() != nil || !strings.Contains(srv.log.String(), "already in use") {
			break
		}
	}
	return fail(lastErr)
}

// pgBinDir returns the bin directory of the newest PostgreSQL installed.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob(pgBinGlob)
	var bins []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				bins = append(bins, d)
			}
		}
	}
	if len(bins) == 0 {
		return "", fmt.Errorf("postgres: no server binaries (initdb, postgres) in %s: apt-get install postgresql", pgBinGlob)
	}
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	return slices.MaxFunc(bins, func(a, b string) int { return cmp.Compare(version(a), version(b)) }), nil
}

// pgServer is a running postgres process.
type pgServer struct {
	cmd    *exec.Cmd
	log    *pgLog
	exited chan struct{} // closed when the process has exited
	err    error         // the process's exit; read after exited is closed
}

// stop asks for a fast shutdown and waits for it, killing the server if
// it takes more than 30 s.
func (s *pgServer) stop() error {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			return fmt.Errorf("postgres: killed after 30 s of shutdown\n%s", s.log)
		}
	}
	if s.err != nil {
		return fmt.Errorf("postgres: %w\n%s", s.err, s.log)
	}
	return nil
}

// runPostgres starts cmd, the postgres binary, on the cluster in data,
// listening on the port.
func runPostgres(cmd *exec.Cmd, base, data string, port int) (*pgServer, error) {
	cmd.Args = append(cmd.Args, "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections="+strconv.Itoa(pgMaxConnections), "-c", "logging_collector=off")
	cmd.Dir = base
	s := &pgServer{cmd: cmd, log: &pgLog{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// pgReady waits until the server at dsn accepts a connection, it exits, or
// ctx ends, for at most 30 s.
func pgReady(ctx context.Context, dsn string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-exited:
			return errors.New("postgres: server exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("postgres: not ready: %w", err)
		case <-tick.C:
		}
	}
}

// pgLog keeps the server's output for error messages: the first and last
// 8 KiB.
type pgLog struct {
	mu         sync.Mutex // guards head and tail
	head, tail []byte
}

func (l *pgLog) Write(p []byte) (int, error) {
	const keep = 8 << 10
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if h := min(keep-len(l.head), len(p)); h > 0 {
		l.head = append(l.head, p[:h]...)
		p = p[h:]
	}
	l.tail = append(l.tail, p...)
	if len(l.tail) > keep {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-keep:]...)
	}
	return n, nil
}

func (l *pgLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tail) == 0 {
		return string(l.head)
	}
	return string(bytes.Join([][]byte{l.head, []byte("…"), l.tail}, nil))
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
