// Package natsserver runs hoso's embedded NATS server (hoso serve without
// --nats-url): JetStream with hoso's sync policy, the users of a users
// file (ParseUsers) with their permissions — each source limited to its
// own events, outcomes, consumer and inboxes (SourcePermissions), the
// supervisors read-only (SupervisorPermissions), hoso itself
// (events.EngineUser) unlimited — the hourly quota of each source's
// events (Quota), and the restart of JetStream after a write error
// (Server.KeepJetStream). It is apart from package events so that the
// contract's codec, which vendors' programs compile (package client),
// does not bring a NATS server with it.
//
// configs/nats/ has the same users and permissions for an external
// server; docs/operations.md ("Access control") lists them.
package natsserver
