// Package conformance holds the tests a one-stop-shop vendor would run:
// the real hoso binary, started as `hoso serve` with NATS access control
// (--nats-users), driven only through the integration contract
// (docs/contract.md) by the standard clients — the CloudEvents Go SDK,
// the official NATS client for Node.js with the CloudEvents JavaScript
// SDK, the nats CLI running the contract's worked example as written —
// each event answered by exactly the outcome the contract says.
//
// The package has no code of its own; its tests build cmd/hoso.
package conformance
