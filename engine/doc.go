// Package engine composes hoso: from a Config it opens the store, starts
// the embedded NATS server (or connects to an external one), sets up the
// streams and the engine's durable consumer, and runs the consumer, the
// outbox relay, the deadline scheduler, the guard, the signed checkpoints,
// the replica lease, the source quota, the HTTP server with its metrics,
// and the reloads of SIGHUP. `hoso serve` parses its flags into a Config
// and calls Run; tests start engines from a Config the same way.
//
// # Lifecycle
//
// Open acquires everything and listens for HTTP; nothing runs until Run.
// Run blocks until its context ends or a part fails, then stops in this
// order: the HTTP server (the live feed's streams are closed), the
// deadline scheduler, the guard, the consumer, the outbox relay (with
// replicas: the consumer, then the replica lease and the leader's parts),
// the checkpoints (a last one covers all the consumer applied), the
// reloader, the embedded JetStream keeper and the quota; then it drains
// the NATS connection, shuts the embedded server down and closes the
// store: the stop order of package events, with the parts it does not
// know around it. An engine that Open returned but that is never Run is
// released with Close.
//
// # Configuration
//
// Config is validated as a whole (Validate reports every problem at
// once); Check loads every file a Config names (definitions, calendar,
// access file, TLS certificate and key, NATS users file, checkpoint key)
// without opening the store or NATS, as `hoso serve --check` does before
// a restart or a reload. RulesConfig is the part that decides events: every
// process that applies a stream (serve, rebuild, simulate's checks) must
// load the same rules.
//
// The files of credentials (the access file, the NATS users file) are
// read only when they are regular files that only their owner may write,
// and the checkpoint key only when no one else may read it.
//
// # Reloads
//
// On SIGHUP (noted from Open on, so a signal sent while the engine starts
// is not lost) and on Reload, the access file, the TLS certificate and key
// and the embedded server's users file are read again; each is replaced
// only when its new version loads, and hoso_config_last_reload_successful says
// whether the last reload loaded every file.
package engine
