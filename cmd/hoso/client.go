package main

import (
	"flag"

	"github.com/hoso-vn/hoso/api"
)

// defaultServer is the HTTP address the client commands talk to.
const defaultServer = "http://127.0.0.1:8080"

// addServerFlags registers --server and --token, the flags of every
// command that asks a running server, and returns the client they
// configure once fs is parsed.
func addServerFlags(fs *flag.FlagSet, getenv func(string) string) *api.Client {
	cl := &api.Client{}
	fs.StringVar(&cl.BaseURL, "server", envOr(getenv, "HOSO_SERVER", defaultServer), "hoso HTTP address (env HOSO_SERVER)")
	fs.StringVar(&cl.Token, "token", envOr(getenv, "HOSO_TOKEN", ""), "access token, when the server has an access file (env HOSO_TOKEN; prefer it: flags show in ps)")
	return cl
}
