package testutil

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/natsserver"
	"github.com/hoso-vn/hoso/workflow"
)

// StartNATS starts a NATS server with JetStream storing under dir, sets up
// hoso's streams on it, and returns its client URL and a JetStream client:
// the external server of tests whose stream must outlive `hoso serve`.
func StartNATS(t testing.TB, dir string) (string, jetstream.JetStream) {
	t.Helper()
	srv, err := natsserver.StartServer(natsserver.ServerConfig{Dir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	_, js := Connect(t, srv.ClientURL())
	if _, err := events.Setup(context.Background(), js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	return srv.ClientURL(), js
}

// Connect returns a JetStream client of the instance's NATS server.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Publish publishes the messages with JetStream, asynchronously, and
// checks that exactly the expected ones are dropped as duplicates.
func Publish(t testing.TB, js jetstream.JetStream, msgs []Message) {
	t.Helper()
	const window = 2000
	var futures []jetstream.PubAckFuture
	wait := func() {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				t.Fatalf("publish %s: %v", f.Msg().Subject, err)
			case <-time.After(30 * time.Second):
				t.Fatalf("no publish ack within 30s")
			}
		}
		futures = futures[:0]
	}
	dropped := 0
	for i, m := range msgs {
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		if m.MsgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		if m.Dropped {
			// Synchronously, to see the duplicate flag.
			wait()
			ack, err := js.PublishMsg(context.Background(), nm)
			if err != nil {
				t.Fatalf("publish message %d: %v", i, err)
			}
			if !ack.Duplicate {
				t.Fatalf("message %d with a repeated Nats-Msg-Id was not dropped by JetStream", i)
			}
			dropped++
			continue
		}
		f, err := js.PublishMsgAsync(nm)
		if err != nil {
			t.Fatalf("publish message %d: %v", i, err)
		}
		futures = append(futures, f)
		if len(futures) == window {
			wait()
		}
	}
	wait()
}

// OutcomeCount returns how many messages the outcomes stream holds.
func OutcomeCount(t testing.TB, js jetstream.JetStream) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), events.OutcomesStream)
	if err != nil {
		t.Fatalf("outcomes stream: %v", err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatalf("outcomes stream info: %v", err)
	}
	return info.State.Msgs
}

// WaitOutcomes waits until the outcomes stream holds n messages.
func WaitOutcomes(t testing.TB, js jetstream.JetStream, n uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last uint64
	for time.Now().Before(deadline) {
		st, err := js.Stream(context.Background(), events.OutcomesStream)
		if err == nil {
			info, err := st.Info(context.Background())
			if err == nil {
				last = info.State.Msgs
				if last >= n {
					if last > n {
						t.Fatalf("outcomes stream holds %d messages, want %d", last, n)
					}
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("outcomes stream holds %d messages after %s, want %d", last, timeout, n)
}

// PublishEvent publishes ev through nc as `hoso emit` does: encoded, on
// its source's subject, with its ID as Nats-Msg-Id. It returns the stream
// sequence JetStream stored it at; an event JetStream drops as a
// duplicate, or no acknowledgement within timeout, is an error.
func PublishEvent(nc *nats.Conn, ev *workflow.Event, timeout time.Duration) (uint64, error) {
	data, err := events.Encode(ev)
	if err != nil {
		return 0, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: events.Subject(ev.Source, ev.Dossier), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return 0, fmt.Errorf("publish to %s: %w", msg.Subject, err)
	}
	if ack.Duplicate {
		return 0, fmt.Errorf("event %s dropped by JetStream as a duplicate", ev.ID)
	}
	return ack.Sequence, nil
}

// Emit publishes ev with PublishEvent and waits, up to timeout in all, for
// the outcome the engine publishes for it on its source's outcome
// subjects (events.OutcomeFilter): what `hoso emit` does and prints. nc
// must be allowed to read its inbox and those subjects (a source's user
// connects with nats.CustomInboxPrefix(events.InboxPrefix(source))).
func Emit(nc *nats.Conn, ev *workflow.Event, timeout time.Duration) (workflow.Outcome, error) {
	deadline := time.Now().Add(timeout)
	sub, err := nc.SubscribeSync(events.OutcomeFilter(ev.Source, ev.Dossier))
	if err != nil {
		return workflow.Outcome{}, fmt.Errorf("subscribe to outcomes: %w", err)
	}
	defer sub.Unsubscribe()
	seq, err := PublishEvent(nc, ev, timeout)
	if err != nil {
		return workflow.Outcome{}, err
	}
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return workflow.Outcome{}, fmt.Errorf("no outcome for event %s (stream sequence %d) within %s: %w", ev.ID, seq, timeout, err)
		}
		var o workflow.Outcome
		if json.Unmarshal(m.Data, &o) != nil || o.Seq != seq {
			continue
		}
		return o, nil
	}
}

// StartTLSNATS starts a NATS server with JetStream that takes only TLS
// clients, with a self-signed certificate for 127.0.0.1, sets up hoso's
// streams on it, and returns its URL and the certificate's file, the CA
// a client must be given.
func StartTLSNATS(t testing.TB, dir string) (url, caFile string) {
	t.Helper()
	certFile, keyFile, _ := WriteCert(t, dir, "nats")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	url = startJetStream(t, "tls", &server.Options{StoreDir: filepath.Join(dir, "jetstream"),
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}},
		nats.RootCAs(certFile))
	return url, certFile
}

// startJetStream starts a NATS server of opts with JetStream on a free
// loopback port, stopped at the end of the test, sets up hoso's streams
// as a client with the options client, and returns its URL of scheme.
func startJetStream(t testing.TB, scheme string, opts *server.Options, client ...nats.Option) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs, opts.JetStream = "127.0.0.1", -1, true, true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("the NATS server does not take connections within 10s")
	}
	t.Cleanup(srv.Shutdown)
	url := fmt.Sprintf("%s://127.0.0.1:%d", scheme, srv.Addr().(*net.TCPAddr).Port)
	nc, err := nats.Connect(url, client...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Setup(context.Background(), js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	return url
}
