package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hoso-vn/hoso/events"
)

// Signed checkpoints (events.CheckpointMessage): serve publishes them
// with the key of --checkpoint-key, `hoso checkpoint keygen` makes such a
// key, and `hoso audit verify --public-key` checks the store against them.

// checkpointCommand manages the key that signs checkpoints.
type checkpointCommand struct{ env }

func (c *checkpointCommand) Run(ctx context.Context, args []string) error {
	out, err := keygenArgs("checkpoint", "the new private key (PEM, PKCS#8, mode 0600)", args, c.stderr)
	if err != nil {
		return err
	}
	pub, err := events.GenerateCheckpointKey(out)
	if err != nil {
		return fmt.Errorf("checkpoint keygen: %w", err)
	}
	fmt.Fprintf(c.stderr, "private key written to %s (give it to hoso serve --checkpoint-key; keep it off the data directory and its backups)\n", out)
	fmt.Fprintf(c.stderr, "public key, for hoso audit verify --public-key (key id %s):\n", events.KeyID(pub))
	_, err = c.stdout.Write(events.PublicKeyPEM(pub))
	return err
}

// keygenArgs reads the arguments of `hoso <cmd> keygen -o FILE`, the
// subcommand of the commands that make a key (checkpoint, public), and
// returns FILE; what says what is written there.
func keygenArgs(cmd, what string, args []string, stderr io.Writer) (string, error) {
	fs := newFlagSet(cmd, cmd+" keygen -o FILE", stderr)
	out := fs.String("o", "", "file to write "+what+" to; it must not exist")
	if len(args) == 0 || args[0] != "keygen" {
		fs.Usage()
		return "", flag.ErrHelp
	}
	if err := fs.Parse(args[1:]); err != nil {
		return "", err
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hoso %s keygen: give the key file with -o FILE, and nothing else\n", cmd)
		return "", flag.ErrHelp
	}
	return *out, nil
}
