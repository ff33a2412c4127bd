// Package client is the Go client of hoso's integration contract
// (docs/contract.md) for one-stop-shop vendors: it builds the contract's
// events, checks them as hoso will, publishes them with JetStream, and
// reads hoso's outcomes. It follows the contract of the same version of
// this module.
//
// # Publishing
//
// A Source is one source system (its subject token, e.g. tayninh) on a
// NATS connection. Build an Event, give it its id and time once — set
// them yourself when the action happens, or call Event.Stamp — and keep
// them until the event is acknowledged:
//
//	ev := client.Event{
//		Action: client.Receive, Dossier: "000.00.12.H57-250901-0001",
//		Procedure: "1.004227", Agency: "H57", Actor: "cb-0142",
//		Due: client.Day(2025, time.September, 15),
//		Attachments: []client.Attachment{{Kind: "input_digitized", Name: "don.pdf"}},
//	}
//	ev.Stamp()
//	ack, err := src.Publish(ctx, &ev)
//
// Publish validates the event with hoso's own decoder (Event.Encode): an
// event hoso would reject as malformed or token_mismatch is not sent, and
// the error, wrapping ErrInvalidEvent, names every problem. It publishes
// on hoso.events.<source>.<dossier-token> with Nats-Msg-Id set to the
// event id and awaits JetStream's acknowledgement, sending the same
// message again after a timeout, a missing stream (no responders) or a
// lost connection, until it is acknowledged or the context ends. An
// Ack.Duplicate says the stream already held that id (an earlier copy, or
// an attempt whose acknowledgement was lost): the event is stored once
// and has one outcome. Window publishes in bulk, many acknowledgements
// awaited at once.
//
// Emit publishes an event and waits for its outcome, as `hoso emit`
// does: handy for a tool or a test. A system that publishes all day reads
// its outcomes with Outcomes instead.
//
// # Lookup by the applicant
//
// Where the deployment lets applicants look their dossier up on hoso's
// public surface, the receipt prints a lookup secret (a random code of 8
// or more characters is best) and the receipt's event carries its digest
// under the deployment's lookup key, never the secret:
//
//	key, err := workflow.ParseLookupKey(keyFileText) // hex, at least 32 bytes
//	err = ev.SetLookup(key, "K7M2-X9P4") // after setting ev.Dossier
//
// A reprinted receipt with a new secret sends the new digest on its
// event; hoso keeps the last one.
//
// # Outcomes
//
// Source.Outcomes reads every outcome of the source (accepted, rejected,
// correction, deadline) in the order hoso published them, through the
// source's durable pull consumer outcomes-<source> of HOSO_OUTCOMES,
// filtered on hoso.outcomes.*.<source>.>. Acknowledge each one (Message.Ack)
// after handling it: the consumer lives in the server, so a reader that
// stops, crashes or loses its connection resumes after the last outcome
// it acknowledged. Kind and Reason are typed; the Reason constants are the
// contract's reason codes.
//
// # Access control
//
// Where hoso's NATS server has users (`hoso serve --nats-users`), a
// source's user may publish only on hoso.events.<source>.>, use only the
// consumer outcomes-<source>, and receive replies only on its own inboxes,
// _INBOX_<source>. Connect with the InboxPrefix option, or every
// acknowledgement and fetch is refused for permissions:
//
//	nc, err := nats.Connect(url, nats.UserInfo(user, password), client.InboxPrefix("tayninh"))
//	src, err := client.NewSource(nc, "tayninh", client.WithSourceURI("/motcua/tayninh"))
//
// # Dependencies
//
// The package checks events with hoso's own codec (package events) and
// needs nats.go; it does not compile a NATS server into a vendor's
// program (TestNoServerDependency).
//
// A Source, once made, is safe for concurrent use; a Window and an
// Outcomes reader are not.
package client
