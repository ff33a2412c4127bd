// Command hoso runs and operates the hoso workflow engine: "hoso serve"
// runs the engine, the other commands publish events, query and audit a
// running engine, and operate its store.
//
// "hoso help" prints every command with a line about it (the usage
// constant below is the one list); "hoso COMMAND -h" prints a command's
// flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, new(exitError)) {
		fmt.Fprintln(os.Stderr, "hoso:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the process's exit status after run returned err: 0, 2 for
// a usage error, the status of an exitError (wrapped or not), else 1.
func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &ee):
		return int(ee)
	}
	return 1
}

// exitError ends the program with a status code, its message already printed.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// env gives a command what it reads from its surroundings, so tests can
// run commands with buffers and their own variables.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command interface {
	Run(ctx context.Context, args []string) error
}

const usage = `hoso checks one-stop-shop dossier events against the legal workflow of
their procedure and keeps a tamper-evident record of them.

Usage:
  hoso serve                      run the engine, embedded NATS and the HTTP API
  hoso emit [flags]               publish a dossier event and print its outcome
  hoso dossier show CODE          print a dossier, its history and its chain check
  hoso dossier list [flags]       list dossiers by status, agency, procedure, overdue, receipt date
  hoso rejections [flags]         list rejected events by dossier, reason, time
  hoso irregularities [flags]     list late entries, late apologies, repeated supplement requests
  hoso audit verify [CODE]        verify the hash chains of one dossier or of all (exit 1 if broken)
  hoso audit verify --public-key  verify the store against its signed checkpoints (exit 1 if one differs)
  hoso checkpoint keygen -o FILE  make the ed25519 key serve signs checkpoints with (--checkpoint-key)
  hoso public keygen -o FILE      make the lookup key of the applicants' dossier lookup (--public-lookup-key)
  hoso definitions validate DIR   check procedure definition files
  hoso definitions list           list the definitions hoso ships
  hoso definitions show ID        draw a definition's state diagram (Mermaid or DOT)
  hoso simulate [flags]           publish a realistic stream of a province's dossier events
  hoso stats [flags]              print a period's statistics as provinces publish them
  hoso reconcile FILE             compare a one-stop-shop's status export with hoso
  hoso backup [-o FILE]           take a hot backup of a running server's store
  hoso restore FILE               put a backup in place of the store (serve stopped)
  hoso rebuild [flags]            apply the event stream into a fresh store, print its state hash
  hoso access add|remove          add or remove a user of the access file (serve --access)

Run "hoso COMMAND -h" for the flags of a command.
`

// run runs the command line args. It owns signal handling: SIGINT and
// SIGTERM cancel the context given to the command.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	var cmd command
	switch name := args[0]; name {
	case "serve":
		cmd = &serveCommand{env: e}
	case "emit":
		cmd = &emitCommand{env: e}
	case "dossier":
		cmd = &dossierCommand{env: e}
	case "definitions":
		cmd = &definitionsCommand{env: e}
	case "simulate":
		cmd = &simulateCommand{env: e}
	case "stats":
		cmd = &statsCommand{env: e}
	case "reconcile":
		cmd = &reconcileCommand{env: e}
	case "rejections":
		cmd = &rejectionsCommand{env: e}
	case "irregularities":
		cmd = &irregularitiesCommand{env: e}
	case "audit":
		cmd = &auditCommand{env: e}
	case "checkpoint":
		cmd = &checkpointCommand{env: e}
	case "public":
		cmd = &publicCommand{env: e}
	case "access":
		cmd = &accessCommand{env: e}
	case "backup":
		cmd = &backupCommand{env: e}
	case "restore":
		cmd = &restoreCommand{env: e}
	case "rebuild":
		cmd = &rebuildCommand{env: e}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "hoso: unknown command %q\n\n%s", name, usage)
		return flag.ErrHelp
	}
	return cmd.Run(ctx, args[1:])
}

// newFlagSet returns a flag set that reports to stderr and returns errors.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hoso %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags given before, between and after the
// positional arguments, as people type them ("show land --format dot"),
// and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// envOr returns the environment variable, or def when it is unset or empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
