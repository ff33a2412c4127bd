// Package testutil is what the end-to-end tests of several packages
// share: an engine started in-process from a Config (Start) or as a
// process of the test binary to kill, signal or limit (StartProcess), a
// NATS server with hoso's streams (StartNATS), publishing and waiting for
// outcomes, checks of a store against what it must hold, HTTP and metrics
// helpers, access files and certificates, and Scenario, a generated
// stream whose true outcome is counted as it is made.
package testutil
