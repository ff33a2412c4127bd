package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
)

// instance is a `hoso serve` running in-process on random ports.
type instance struct {
	httpURL string
	natsURL string
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

func noEnv(string) string { return "" }

// startServe runs `hoso serve` on dataDir with random ports and waits until
// it listens. Extra flags are appended.
func startServe(t testing.TB, dataDir string, extra ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--nats-port", "0",
		"--log-format", "json", "--log-level", "debug",
		// Test streams are dated in the past: the deadline scheduler would
		// add expiries to them. Tests of the scheduler turn it back on.
		"--deadline-interval", "0"}, extra...)
	go func() { in.done <- run(ctx, args, noEnv, strings.NewReader(""), io.Discard, in.logs) }()
	t.Cleanup(func() { in.stop(t) })
	in.waitListening(t, !hasFlag(extra, "--nats-url"))
	return in
}

// waitListening reads the instance's JSON log until it has logged its HTTP
// address and, when it runs the embedded NATS server, that server's URL.
func (in *instance) waitListening(t testing.TB, embedded bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for in.httpURL == "" || (embedded && in.natsURL == "") {
		select {
		case err := <-in.done:
			in.cancel = nil
			t.Fatalf("serve exited early: %v\n%s", err, in.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 20s:\n%s", in.logs.String())
		}
		sc := bufio.NewScanner(strings.NewReader(in.logs.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
				URL  string `json:"url"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Msg {
			case "http listening":
				in.httpURL = "http://" + line.Addr
			case "embedded nats listening":
				in.natsURL = line.URL
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startNATS starts a NATS server with JetStream storing under dir, sets up
// hoso's streams on it, and returns its client URL and a JetStream client:
// the external server of tests whose stream must outlive `hoso serve`.
func startNATS(t testing.TB, dir string) (string, jetstream.JetStream) {
	t.Helper()
	srv, err := events.StartServer(events.ServerConfig{Dir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	_, js := connect(t, srv.ClientURL())
	if _, err := events.Setup(context.Background(), js, events.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	return srv.ClientURL(), js
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// stop shuts the instance down cleanly and fails the test if it does not.
func (in *instance) stop(t testing.TB) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("serve returned %v\n%s", err, in.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30s")
	}
}

// connect returns a JetStream client of the instance's NATS server.
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
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

// publish publishes the messages with JetStream, asynchronously, and
// checks that exactly the expected ones are dropped as duplicates.
func publish(t testing.TB, js jetstream.JetStream, msgs []message) {
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
		nm := &nats.Msg{Subject: m.subject, Data: m.data, Header: nats.Header{}}
		if m.msgID != "" {
			nm.Header.Set(jetstream.MsgIDHeader, m.msgID)
		}
		if m.dropped {
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

// outcomeCount returns how many messages the outcomes stream holds.
func outcomeCount(t testing.TB, js jetstream.JetStream) uint64 {
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

// waitOutcomes waits until the outcomes stream holds n messages.
func waitOutcomes(t testing.TB, js jetstream.JetStream, n uint64, timeout time.Duration) {
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

// getJSON GETs a path of the instance and decodes the answer.
func getJSON(t testing.TB, base, path string, wantStatus int, v any) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
}

func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
