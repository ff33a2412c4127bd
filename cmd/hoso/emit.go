package main

import (
	"context"
	"crypto/rand"
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
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/events"
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
	var ev workflow.Event
	fs.StringVar(&ev.Dossier, "dossier", "", "dossier code, e.g. 000.00.12.H57-250901-0001")
	fs.StringVar(&ev.Action, "action", "", "action, e.g. receive, assign, resolve")
	fs.StringVar(&ev.Procedure, "procedure", "", "procedure code (mã TTHC), e.g. 1.004227")
	fs.StringVar(&ev.Agency, "agency", "", "handling agency code")
	fs.StringVar(&ev.Actor, "actor", "", "officer or citizen id")
	fs.StringVar(&ev.ID, "id", "", "event id (default: a new random id)")
	fs.StringVar(&ev.Reason, "reason", "", "data.reason: refusal, stop or apology reason")
	fs.StringVar(&ev.Department, "department", "", "data.department: department handling the dossier after the action")
	fs.StringVar(&ev.Note, "note", "", "data.note: free text for the control sheet")
	claimed := fs.Int("claimed-status", 0, "data.claimed_status: the status (1–10) your system shows after the action")
	due := fs.String("due", "", "data.due: the due date set at receipt (YYYY-MM-DD or RFC 3339)")
	newDue := fs.String("new-due", "", "data.new_due: the new due date of an apology (YYYY-MM-DD or RFC 3339)")
	at := fs.String("time", "", "when the action happened, RFC 3339 (default: now)")
	entered := fs.String("entered", "", "data.entered: when your system recorded the event, RFC 3339; a late entry is judged by it (default: none, its arrival)")
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

	var (
		payload []byte
		id      string
		code    string
		err     error
	)
	if *file != "" {
		payload, id, code, err = c.readFile(*file, source)
	} else {
		payload, err = c.build(&ev, *source, *claimed, *due, *newDue, *at, *entered, attach)
		id, code = ev.ID, ev.Dossier
	}
	if err != nil {
		return err
	}
	if !sourceTokenRE.MatchString(*source) {
		return fmt.Errorf("--source: %q is not a source token ([a-z0-9_-], e.g. tayninh)", *source)
	}

	nc, err := nf.connect("hoso emit", *source)
	if err != nil {
		return err
	}
	defer nc.Close()
	var sub *nats.Subscription
	if *wait {
		sub, err = nc.SubscribeSync(events.OutcomeFilter(*source, code))
		if err != nil {
			return fmt.Errorf("subscribe to outcomes: %w", err)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: events.Subject(*source, code), Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	pctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ack, err := js.PublishMsg(pctx, msg)
	if err != nil {
		return fmt.Errorf("publish to %s: %w", msg.Subject, err)
	}
	if ack.Duplicate {
		fmt.Fprintf(c.stderr, "NATS dropped event %s as a duplicate of one published in the last minutes\n", id)
		return exitError(1)
	}
	if !*wait {
		fmt.Fprintf(c.stdout, "published %s to %s (stream sequence %d)\n", id, msg.Subject, ack.Sequence)
		return nil
	}
	for {
		m, err := sub.NextMsg(time.Until(deadline(pctx)))
		if err != nil {
			return fmt.Errorf("no outcome for event %s within %s (is hoso consuming? published as stream sequence %d): %w", id, *timeout, ack.Sequence, err)
		}
		var out workflow.Outcome
		if json.Unmarshal(m.Data, &out) != nil || out.Seq != ack.Sequence {
			continue
		}
		return c.printOutcome(&out, m.Data, *output)
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// build encodes the event given by flags.
func (c *emitCommand) build(ev *workflow.Event, source string, claimed int, due, newDue, at, entered string, attach []workflow.Attachment) ([]byte, error) {
	var missing []string
	for flagName, v := range map[string]string{"dossier": ev.Dossier, "action": ev.Action, "procedure": ev.Procedure, "agency": ev.Agency, "actor": ev.Actor, "source": source} {
		if v == "" {
			missing = append(missing, "--"+flagName)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s (see hoso emit -h)", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	ev.Source = source
	ev.SourceURI = "/hoso/emit/" + source
	ev.ClaimedStatus = workflow.Status(claimed)
	ev.Attachments = attach
	if ev.ID == "" {
		ev.ID = newID()
	}
	var err error
	if ev.Time, err = parseWhen(at, time.Now()); err != nil {
		return nil, fmt.Errorf("--time: %w", err)
	}
	if ev.Due, err = parseWhen(due, time.Time{}); err != nil {
		return nil, fmt.Errorf("--due: %w", err)
	}
	if ev.NewDue, err = parseWhen(newDue, time.Time{}); err != nil {
		return nil, fmt.Errorf("--new-due: %w", err)
	}
	if entered != "" {
		if ev.Entered, err = time.Parse(time.RFC3339, entered); err != nil {
			return nil, fmt.Errorf("--entered: %q is not an RFC 3339 time", entered)
		}
	}
	return events.Encode(ev)
}

// readFile reads a CloudEvent file, keeping its bytes as they are, and
// picks out the id and dossier code the subject and header need.
func (c *emitCommand) readFile(name string, source *string) (payload []byte, id, code string, err error) {
	if name == "-" {
		payload, err = io.ReadAll(io.LimitReader(c.stdin, 1<<20))
	} else {
		payload, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("--file: %w", err)
	}
	var head struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Source  string `json:"source"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, "", "", fmt.Errorf("--file %s: not a CloudEvent JSON object: %w", name, err)
	}
	if head.ID == "" || head.Subject == "" {
		return nil, "", "", fmt.Errorf("--file %s: the event needs an id and a subject (the dossier code)", name)
	}
	if *source == "" {
		// The last segment of the CloudEvent source, e.g. /motcua/tayninh.
		*source = head.Source[strings.LastIndex(head.Source, "/")+1:]
	}
	return payload, head.ID, head.Subject, nil
}

func (c *emitCommand) printOutcome(out *workflow.Outcome, raw []byte, format string) error {
	if format == "json" {
		_, err := c.stdout.Write(append(raw, '\n'))
		return err
	}
	switch out.Kind {
	case workflow.OutcomeAccepted:
		fmt.Fprintf(c.stdout, "accepted: %s %s → %s\n", out.Dossier, out.Action, out.Status)
	case workflow.OutcomeCorrection:
		fmt.Fprintf(c.stdout, "correction: %s %s applied → %s; %s\n", out.Dossier, out.Action, out.Status, out.MessageVI)
	default:
		fmt.Fprintf(c.stdout, "%s (%s): %s\n  %s\n", out.Kind, out.Reason, out.MessageVI, out.MessageEN)
		return exitError(1)
	}
	return nil
}

// parseWhen reads an RFC 3339 time or a date (midnight in Vietnam); ""
// gives def.
func parseWhen(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, workflow.Zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", v)
	}
	return t, nil
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
