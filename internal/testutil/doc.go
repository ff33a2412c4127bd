// Package testutil is what the end-to-end tests of several packages
// share: an engine started in-process from a Config (Start), a NATS
// server with hoso's streams (StartNATS), publishing and waiting for
// outcomes, HTTP helpers, and Scenario, a generated stream whose true
// outcome is counted as it is made.
package testutil
