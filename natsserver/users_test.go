package natsserver_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/internal/natstest"
	"github.com/hoso-vn/hoso/natsserver"
)

// usersFile is a users file with two sources and the supervisors.
const usersFile = natstest.UsersFile

// permErrors collects the permission violations the server reports to a
// client (they arrive asynchronously).
type permErrors struct {
	mu   sync.Mutex
	errs []string
}

func (p *permErrors) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, err.Error())
}

func (p *permErrors) has(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		if strings.Contains(e, s) {
			return true
		}
	}
	return false
}

// TestSourcePermissions runs a real in-process server with the users of
// a users file: a source publishes and reads only its own subjects, the
// supervisors publish nothing, and the engine's own user does everything.
func TestSourcePermissions(t *testing.T) {
	srv, _, _, ejs := startUsersServer(t)
	if nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without a user connected")
	}
	setup(t, ejs)

	connect := func(user, password, source string) (*nats.Conn, jetstream.JetStream, *permErrors) {
		t.Helper()
		pe := &permErrors{}
		nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(user, password), nats.CustomInboxPrefix(events.InboxPrefix(source)),
			nats.ErrorHandler(pe.handler))
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return nc, js, pe
	}
	tay, tjs, tayErrs := connect("tayninh-dvc", "tayninh-secret-1", "tayninh")
	_, hjs, _ := connect("hanoi-dvc", "hanoi-secret-22", "hanoi")
	sup, sjs, supErrs := connect("supervisors", "supervisors-secret-3", "supervisors")

	pub := func(js jetstream.JetStream, subject string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.Publish(ctx, subject, []byte(`{}`))
		return err
	}
	// Each source publishes its own events and is acked.
	if err := pub(tjs, "hoso.events.tayninh.000_00_12_H57-251001-0001"); err != nil {
		t.Fatalf("tayninh publishes its own event: %v", err)
	}
	if err := pub(hjs, "hoso.events.hanoi.000_00_12_H57-251001-0002"); err != nil {
		t.Fatalf("hanoi publishes its own event: %v", err)
	}
	// … but not another's, nor an outcome, nor anything as a supervisor.
	for _, c := range []struct {
		who     string
		js      jetstream.JetStream
		subject string
	}{
		{"tayninh", tjs, "hoso.events.hanoi.000_00_12_H57-251001-0003"},
		{"tayninh", tjs, "hoso.events.hoso.000_00_12_H57-251001-0003"},
		{"tayninh", tjs, "hoso.outcomes.accepted.tayninh.000_00_12_H57-251001-0001"},
		{"supervisors", sjs, "hoso.events.tayninh.000_00_12_H57-251001-0004"},
	} {
		if err := pub(c.js, c.subject); err == nil {
			t.Errorf("%s published on %s and got an ack", c.who, c.subject)
		}
	}
	waitFor(t, 5*time.Second, "permission violations reported to tayninh", func() bool {
		return tayErrs.has("Permissions Violation for Publish to \"hoso.events.hanoi.")
	})
	if !supErrs.has("Permissions Violation for Publish") {
		t.Errorf("supervisors' publish: no permission violation in %v", supErrs.errs)
	}
	info, err := ejs.Stream(t.Context(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 2 {
		t.Errorf("events stream holds %d messages, want the 2 each source sent for itself", n)
	}

	// The engine publishes outcomes for both sources.
	for _, s := range []string{"hoso.outcomes.accepted.tayninh.000_00_12_H57-251001-0001", "hoso.outcomes.accepted.hanoi.000_00_12_H57-251001-0002"} {
		if _, err := ejs.Publish(t.Context(), s, []byte(`{}`)); err != nil {
			t.Fatalf("engine publishes %s: %v", s, err)
		}
	}
	// tayninh reads its own outcomes through its durable consumer …
	ctx := t.Context()
	cons, err := tjs.CreateOrUpdateConsumer(ctx, events.OutcomesStream, jetstream.ConsumerConfig{
		Durable: events.OutcomeConsumer("tayninh"), FilterSubject: "hoso.outcomes.*.tayninh.>", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("tayninh creates its outcome consumer: %v", err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatalf("tayninh fetches: %v", err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Subject())
		if err := m.DoubleAck(ctx); err != nil {
			t.Errorf("tayninh acks %s: %v", m.Subject(), err)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], ".tayninh.") {
		t.Errorf("tayninh's outcomes = %v, want its one", got)
	}
	// … and cannot read hanoi's: not with a consumer filtered on hanoi,
	// not with hanoi's consumer, not with a wider filter, not by a
	// core subscription.
	for _, cc := range []jetstream.ConsumerConfig{
		{Durable: events.OutcomeConsumer("tayninh"), FilterSubject: "hoso.outcomes.*.hanoi.>"},
		{Durable: events.OutcomeConsumer("hanoi"), FilterSubject: "hoso.outcomes.*.hanoi.>"},
		{Durable: events.OutcomeConsumer("tayninh"), FilterSubject: "hoso.outcomes.>"},
		{Durable: events.OutcomeConsumer("tayninh")},
	} {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := tjs.CreateOrUpdateConsumer(cctx, events.OutcomesStream, cc)
		cancel()
		if err == nil {
			t.Errorf("tayninh created consumer %s filtered on %q", cc.Durable, cc.FilterSubject)
		}
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := tjs.Consumer(short, events.EventsStream, events.ConsumerName); err == nil {
		t.Error("tayninh looked up the engine's consumer")
	}
	sub, err := tay.SubscribeSync("hoso.outcomes.*.hanoi.>")
	if err == nil {
		_ = tay.Flush()
		waitFor(t, 5*time.Second, "subscription violation", func() bool {
			return tayErrs.has("Permissions Violation for Subscription to \"hoso.outcomes.*.hanoi.>\"")
		})
		if _, err := ejs.Publish(ctx, "hoso.outcomes.accepted.hanoi.000_00_12_H57-251001-0009", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
			t.Errorf("tayninh received hanoi's outcome %s", m.Subject)
		}
	}
	// Another source's inbox is not readable either.
	if _, err := tay.SubscribeSync(events.InboxPrefix("hanoi") + ".>"); err == nil {
		_ = tay.Flush()
		waitFor(t, 5*time.Second, "inbox violation", func() bool {
			return tayErrs.has("Permissions Violation for Subscription to \"_INBOX_hanoi.>\"")
		})
	}

	// The supervisors read every outcome by sequence, and may not make a
	// consumer of their own, not even an ordered one.
	ostr, err := sjs.Stream(ctx, events.OutcomesStream)
	if err != nil {
		t.Fatalf("supervisors' stream info: %v", err)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		if _, err := ostr.GetMsg(ctx, seq); err != nil {
			t.Fatalf("supervisors read outcome %d: %v", seq, err)
		}
	}
	short, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if oc, err := sjs.OrderedConsumer(short, events.OutcomesStream, jetstream.OrderedConsumerConfig{}); err == nil {
		if _, err := oc.Next(jetstream.FetchMaxWait(500 * time.Millisecond)); err == nil {
			t.Error("supervisors read through an ordered consumer")
		}
	}
	// … and cannot delete the stream or the engine's consumer.
	short, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := sjs.DeleteConsumer(short, events.EventsStream, events.ConsumerName); err == nil {
		t.Error("supervisors deleted the engine's consumer")
	}
	if err := sjs.DeleteStream(short, events.EventsStream); err == nil {
		t.Errorf("supervisors deleted the events stream: %v", err)
	}
	_ = sup
}

func TestParseUsersErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "empty users file"},
		{"unknown", "users:\n  - name: a\n    passwd: x\n", "users.yaml:3: unknown field \"passwd\""},
		{"engine name", "users:\n  - name: hoso\n    password: long-enough-pass\n    source: a\n", "reserved for the engine"},
		{"both", "users:\n  - name: a\n    password: long-enough-pass\n    nkey: UAAA\n    source: a\n", "exactly one of password and nkey"},
		{"seed", "users:\n  - name: a\n    nkey: SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY\n    source: a\n", "not its seed"},
		{"short", "users:\n  - name: a\n    password: short\n    source: a\n", "at least 12 characters"},
		{"no source", "users:\n  - name: a\n    password: long-enough-pass\n", "source \"\""},
		{"reserved source", "users:\n  - name: a\n    password: long-enough-pass\n    source: hoso\n", "source hoso is reserved"},
		{"supervisor source", "users:\n  - name: a\n    password: long-enough-pass\n    source: x\n    supervisor: true\n", "give no source"},
		{"duplicate", "users:\n  - name: a\n    password: long-enough-pass\n    source: a\n  - name: a\n    password: long-enough-pass\n    source: b\n", "users.yaml:5: name \"a\": already used on line 2"},
	} {
		_, err := natsserver.ParseUsers(strings.NewReader(tc.file), "users.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseUsers = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestConfigFilesAgree: configs/nats/hoso.conf, for an external server,
// gives its users the permissions the embedded server gives them, and
// configs/nats/users.example.yaml is a valid users file.
func TestConfigFilesAgree(t *testing.T) {
	for _, k := range []string{"HOSO_ENGINE_PASSWORD", "TAYNINH_PASSWORD", "SUPERVISORS_PASSWORD"} {
		t.Setenv(k, "a-test-password-"+k)
	}
	opts, err := server.ProcessConfigFile("../configs/nats/hoso.conf")
	if err != nil {
		t.Fatalf("ProcessConfigFile: %v", err)
	}
	want := map[string]*server.Permissions{
		"hoso":        nil,
		"tayninh-dvc": natsserver.SourcePermissions("tayninh"),
		"supervisors": natsserver.SupervisorPermissions("supervisors"),
	}
	if len(opts.Users) != len(want) {
		t.Fatalf("hoso.conf has %d users, want %d", len(opts.Users), len(want))
	}
	for _, u := range opts.Users {
		w, ok := want[u.Username]
		if !ok {
			t.Errorf("hoso.conf: unexpected user %s", u.Username)
			continue
		}
		if diff := cmp.Diff(w, u.Permissions); diff != "" {
			t.Errorf("hoso.conf: permissions of %s differ from the embedded server's (-embedded +conf):\n%s", u.Username, diff)
		}
	}
	f, err := os.Open("../configs/nats/users.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := natsserver.ParseUsers(f, "users.example.yaml"); err != nil {
		t.Errorf("users.example.yaml: %v", err)
	}
}

// TestSetUsers: replacing the users of a running server disconnects a
// removed user, lets a new one in, keeps the others connected and the
// engine's own user, and is refused on a server started without users.
func TestSetUsers(t *testing.T) {
	users, err := natsserver.ParseUsers(strings.NewReader(usersFile), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1, Logger: testLogger(t),
		Users: users, EnginePassword: "engine-password-xyz"})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	connect := func(user, password string) (*nats.Conn, chan struct{}, error) {
		closed := make(chan struct{})
		nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(user, password), nats.MaxReconnects(0),
			nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err == nil {
			t.Cleanup(nc.Close)
		}
		return nc, closed, err
	}
	engine, engineClosed, err := connect(events.EngineUser, "engine-password-xyz")
	if err != nil {
		t.Fatal(err)
	}
	_, tayClosed, err := connect("tayninh-dvc", "tayninh-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	hanoi, hanoiClosed, err := connect("hanoi-dvc", "hanoi-secret-22")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := connect("camau-dvc", "camau-secret-4"); err == nil {
		t.Fatal("a user not yet in the file connected")
	}

	// tayninh leaves, camau arrives.
	next, err := natsserver.ParseUsers(strings.NewReader(strings.Replace(usersFile,
		"name: tayninh-dvc\n    password: tayninh-secret-1\n    source: tayninh",
		"name: camau-dvc\n    password: camau-secret-4\n    source: camau", 1)), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetUsers(next); err != nil {
		t.Fatalf("SetUsers: %v", err)
	}
	select {
	case <-tayClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed user's connection is still open 10s after SetUsers")
	}
	if _, _, err := connect("tayninh-dvc", "tayninh-secret-1"); err == nil {
		t.Error("the removed user connected again")
	}
	if _, _, err := connect("camau-dvc", "camau-secret-4"); err != nil {
		t.Errorf("the added user: %v", err)
	}
	for name, c := range map[string]*nats.Conn{"the engine": engine, "hanoi": hanoi} {
		if err := c.Flush(); err != nil {
			t.Errorf("%s after SetUsers: %v", name, err)
		}
	}
	select {
	case <-engineClosed:
		t.Error("the engine's connection was closed")
	case <-hanoiClosed:
		t.Error("hanoi's connection was closed")
	default:
	}
	if err := srv.SetUsers(nil); err == nil {
		t.Error("SetUsers(nil) took away every user")
	}

	open, err := natsserver.StartServer(natsserver.ServerConfig{Dir: t.TempDir(), Port: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(open.Shutdown)
	if err := open.SetUsers(users); !errors.Is(err, natsserver.ErrUsersOff) {
		t.Errorf("SetUsers on a server without users = %v, want ErrUsersOff", err)
	}
}
