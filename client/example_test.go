package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/client"
	"github.com/hoso-vn/hoso/engine"
	"github.com/hoso-vn/hoso/internal/testutil"
)

// Publish a receipt, wait for its outcome, then read the source's
// outcomes as a system that publishes all day does.
func Example() {
	url, stop := startHoso()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// With access control, add nats.UserInfo(user, password).
	nc, err := nats.Connect(url, client.InboxPrefix("tayninh"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	src, err := client.NewSource(nc, "tayninh", client.WithSourceURI("/motcua/tayninh"))
	if err != nil {
		fmt.Println(err)
		return
	}

	ev := client.Event{
		Action: client.Receive, Dossier: "000.00.12.H57-250901-0001",
		Procedure: "1.004227", Agency: "H57", Actor: "cb-0142",
		Time:        time.Date(2025, 9, 1, 8, 15, 0, 0, time.FixedZone("ICT", 7*3600)),
		Due:         client.Day(2025, time.September, 15),
		Attachments: []client.Attachment{{Kind: "input_digitized", Name: "don.pdf"}},
	}
	ev.Stamp() // a new id, once: a retry publishes the same ev
	out, ack, err := src.Emit(ctx, &ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stored as %d: %s, status %s\n", ack.Sequence, out.Kind, out.Status)

	outs, err := src.Outcomes(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := outs.Next(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("outcome of %d: %s, history entry %d\n", m.Seq, m.Kind, m.HistoryIndex)
	if err := m.Ack(ctx); err != nil { // once handled
		fmt.Println(err)
	}
	// Output:
	// stored as 1: accepted, status 2 Được tiếp nhận
	// outcome of 1: accepted, history entry 0
}

// startHoso runs hoso with its embedded NATS server in a temporary
// directory, as `hoso serve` does, and returns the server's URL.
func startHoso() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "hoso-example")
	if err != nil {
		panic(err)
	}
	e, err := engine.Open(context.Background(), testutil.Config(dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	return e.NATSURL(), func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}
}
