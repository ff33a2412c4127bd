package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hoso-vn/hoso/client"
	"github.com/hoso-vn/hoso/workflow"
)

// emitCommand publishes one dossier event following the integration
// contract, for people without a NATS client, and prints its outcome.
type emitCommand struct{ env }

// attachFlag collects repeated --attach kind[:name[:sha256]] values.
type attachFlag []workflow.Attachment

func (a *attachFlag) String() string { return fmt.Sprint(*a) }

func (a *attachFlag) Set(v string) error {
	parts := strings.SplitN(v, ":", 3)
	at := workflow.Attachment{Kind: parts[0]}
	if len(parts) > 1 {
		at.Name = parts[1]
	}
	if len(parts) > 2 {
		at.SHA256 = parts[2]
	}
	if at.Kind == "" {
		return errors.New("want kind[:name[:sha256]]")
	}
	*a = append(*a, at)
	return nil
}

var sourceTokenRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func (c *emitCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("emit", "emit [flags]", c.stderr)
	nf := addNATSFlags(fs, c.getenv, nats.DefaultURL, "NATS server to publish to")
	source := fs.String("source", c.getenv("HOSO_SOURCE"), "source token of the emitting system, e.g. tayninh (env HOSO_SOURCE)")
	file := fs.String("file", "", "publish this CloudEvent JSON file as is (- for standard input) instead of building one from flags")
	var wev workflow.Event // the flags
	fs.StringVar(&wev.Dossier, "dossier", "", "dossier code, e.g. 000.00.12.H57-250901-0001")
	fs.StringVar(&wev.Action, "action", "", "action, e.g. receive, assign, resolve")
	fs.StringVar(&wev.Procedure, "procedure", "", "procedure code (mã TTHC), e.g. 1.004227")
	fs.StringVar(&wev.Agency, "agency", "", "handling agency code")
	fs.StringVar(&wev.Actor, "actor", "", "officer or citizen id")
	fs.StringVar(&wev.ID, "id", "", "event id (default: a new random id)")
	fs.StringVar(&wev.Reason, "reason", "", "data.reason: refusal, stop or apology reason")
	fs.StringVar(&wev.Department, "department", "", "data.department: department handling the dossier after the action")
	fs.StringVar(&wev.Note, "note", "", "data.note: free text for the control sheet")
	claimed := fs.Int("claimed-status", 0, "data.claimed_status: the status (1–10) your system shows after the action")
	due := fs.String("due", "", "data.due: the due date set at receipt (YYYY-MM-DD: due at the end of that day's working hours, or RFC 3339)")
	newDue := fs.String("new-due", "", "data.new_due: the new due date of an apology (YYYY-MM-DD or RFC 3339)")
	at := fs.String("time", "", "when the action happened, RFC 3339 (default: now)")
	entered := fs.String("entered", "", "data.entered: when your system recorded the action, RFC 3339, not before --time (default: none; hoso then takes the arrival)")
	lookupSecret := fs.String("lookup-secret", "", "the lookup secret printed on the applicant's receipt: the event carries its digest as data.lookup (needs --lookup-key)")
	lookupKey := fs.String("lookup-key", "", "file of the deployment's lookup key, hex digits on one line (e.g. from openssl rand -hex 32)")
	var attach attachFlag
	fs.Var(&attach, "attach", "attachment kind[:name[:sha256]], repeatable, e.g. --attach input_digitized:don.pdf")
	wait := fs.Bool("wait", true, "wait for the outcome and print it")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the outcome")
	output := fs.String("o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("-o: %q is not text or json", *output)
	}

	var ev client.Event
	if *file == "" {
		if err := c.build(&ev, &wev, *source, *claimed, dates{due: *due, newDue: *newDue, at: *at, entered: *entered}, attach); err != nil {
			return err
		}
	}
	switch {
	case (*lookupSecret == "") != (*lookupKey == ""):
		return errors.New("--lookup-secret and --lookup-key go together: the digest is of the secret under the key")
	case *lookupSecret != "" && *file != "":
		return errors.New("--lookup-secret: an event from --file is sent as it is; put data.lookup in the file")
	case *lookupSecret != "":
		key, err := readLookupKey(*lookupKey)
		if err != nil {
			return fmt.Errorf("--lookup-key: %w", err)
		}
		if err := ev.SetLookup(key, *lookupSecret); err != nil {
			return fmt.Errorf("--lookup-secret: %w", err)
		}
	}
	var payload []byte
	if *file != "" {
		var err error
		if payload, err = c.readFile(*file, source); err != nil {
			return err
		}
	}
	if !sourceTokenRE.MatchString(*source) {
		return fmt.Errorf("--source: %q is not a source token ([a-z0-9_-], e.g. tayninh)", *source)
	}

	nc, err := nf.connect("hoso emit", *source)
	if err != nil {
		return err
	}
	defer nc.Close()
	src, err := client.NewSource(nc, *source, client.WithSourceURI("/hoso/emit/"+*source))
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var (
		out *client.Outcome
		ack client.Ack
	)
	switch {
	case !*wait && payload != nil:
		ack, err = src.PublishJSON(pctx, payload)
	case !*wait:
		ack, err = src.Publish(pctx, &ev)
	case payload != nil:
		out, ack, err = src.EmitJSON(pctx, payload)
	default:
		out, ack, err = src.Emit(pctx, &ev)
	}
	switch {
	case ack.Duplicate:
		fmt.Fprintf(c.stderr, "NATS dropped event %s as a duplicate of one published in the last minutes\n", ack.ID)
		return exitError(1)
	case err != nil && ack.Sequence != 0:
		return fmt.Errorf("no outcome for event %s within %s (is hoso consuming? published as stream sequence %d): %w", ack.ID, *timeout, ack.Sequence, err)
	case err != nil:
		return err
	case !*wait:
		fmt.Fprintf(c.stdout, "published %s to %s (stream sequence %d)\n", ack.ID, ack.Subject, ack.Sequence)
		return nil
	}
	return c.printOutcome(out, *output)
}

// dates are the time flags of emit, as given.
type dates struct{ due, newDue, at, entered string }

// build makes the event given by flags.
func (c *emitCommand) build(ev *client.Event, f *workflow.Event, source string, claimed int, d dates, attach []workflow.Attachment) error {
	var missing []string
	for flagName, v := range map[string]string{"dossier": f.Dossier, "action": f.Action, "procedure": f.Procedure, "agency": f.Agency, "actor": f.Actor, "source": source} {
		if v == "" {
			missing = append(missing, "--"+flagName)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (see hoso emit -h)", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	*ev = client.Event{ID: f.ID, Action: client.Action(f.Action), Dossier: f.Dossier, Procedure: f.Procedure, Agency: f.Agency,
		Actor: f.Actor, ClaimedStatus: workflow.Status(claimed), Attachments: attach, Reason: f.Reason,
		Department: f.Department, Note: f.Note}
	var err error
	if ev.Time, _, err = parseWhen(d.at, time.Now()); err != nil {
		return fmt.Errorf("--time: %w", err)
	}
	if d.due != "" {
		if ev.Due, err = client.ParseDue(d.due); err != nil {
			return fmt.Errorf("--due: %w", err)
		}
	}
	if d.newDue != "" {
		if ev.NewDue, err = client.ParseDue(d.newDue); err != nil {
			return fmt.Errorf("--new-due: %w", err)
		}
	}
	if d.entered != "" {
		if ev.Entered, err = time.Parse(time.RFC3339, d.entered); err != nil {
			return fmt.Errorf("--entered: %q is not an RFC 3339 time", d.entered)
		}
		if ev.Entered.Before(ev.Time) {
			return fmt.Errorf("--entered: %s is before --time %s: an event is entered when or after it happens",
				d.entered, ev.Time.Format(time.RFC3339))
		}
	}
	ev.Stamp()
	return nil
}

// readFile reads a CloudEvent file, keeping its bytes as they are; a
// missing --source is the last segment of the event's source.
func (c *emitCommand) readFile(name string, source *string) (payload []byte, err error) {
	if name == "-" {
		payload, err = io.ReadAll(io.LimitReader(c.stdin, 1<<20))
	} else {
		payload, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	var head struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Source  string `json:"source"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("--file %s: not a CloudEvent JSON object: %w", name, err)
	}
	if head.ID == "" || head.Subject == "" {
		return nil, fmt.Errorf("--file %s: the event needs an id and a subject (the dossier code)", name)
	}
	if *source == "" {
		// The last segment of the CloudEvent source, e.g. /motcua/tayninh.
		*source = head.Source[strings.LastIndex(head.Source, "/")+1:]
	}
	return payload, nil
}

func (c *emitCommand) printOutcome(out *client.Outcome, format string) error {
	if format == "json" {
		_, err := c.stdout.Write(append(out.JSON, '\n'))
		return err
	}
	switch out.Kind {
	case client.Accepted:
		fmt.Fprintf(c.stdout, "accepted: %s %s → %s\n", out.Dossier, out.Action, out.Status)
	case client.Correction:
		fmt.Fprintf(c.stdout, "correction: %s %s applied → %s; %s\n", out.Dossier, out.Action, out.Status, out.MessageVI)
	default:
		fmt.Fprintf(c.stdout, "%s (%s): %s\n  %s\n", out.Kind, out.Reason, out.MessageVI, out.MessageEN)
		return exitError(1)
	}
	return nil
}

// parseWhen reads an RFC 3339 time, or a date (midnight in Vietnam, day
// true: a due date given as a date is due at the end of its working day);
// "" gives def.
func parseWhen(v string, def time.Time) (t time.Time, day bool, err error) {
	if v == "" {
		return def, false, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, false, nil
	}
	t, err = time.ParseInLocation(time.DateOnly, v, workflow.Zone)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", v)
	}
	return t, true, nil
}
