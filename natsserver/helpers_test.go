package natsserver_test

import "github.com/hoso-vn/hoso/internal/natstest"

// The embedded server and the helpers the tests of this package share
// with events'.
var (
	testLogger       = natstest.Logger
	startJS          = natstest.StartJS
	startUsersServer = natstest.StartUsersServer
	setup            = natstest.Setup
	waitFor          = natstest.WaitFor
	run              = natstest.Run
)

const enginePassword = natstest.EnginePassword
