package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/events"
	"github.com/hoso-vn/hoso/web"
)

// auditCommand checks the tamper-evident histories through the HTTP API.
type auditCommand struct{ env }

// auditResult is what `hoso audit verify -o json` prints.
type auditResult struct {
	Checked int               `json:"checked"`
	Broken  []api.ChainReport `json:"broken"` // the dossiers found wrong
	Store   []api.Finding     `json:"store"`  // what is wrong in the store as a whole
}

// auditLine is a progress line of a whole-store audit.
func auditLine(checked, total int, left time.Duration) string {
	line := fmt.Sprintf("đã kiểm tra %d/%d hồ sơ (%d%%)", checked, total, percent(checked, total))
	if left > 0 {
		line += fmt.Sprintf(", còn khoảng %s", left)
	}
	return line
}

// auditPageTimeout bounds each request of a verification of every
// dossier: the first checks the whole store (tens of seconds for
// 10,000,000 entries read from disk on a small machine), the others a
// page of chains.
const auditPageTimeout = 30 * time.Minute

func (c *auditCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("audit", "audit verify [flags] [CODE]", c.stderr)
	cf := addClientFlags(fs, c.getenv)
	limit := fs.Int("limit", 1000, "dossiers verified per request when verifying all, 1–1000")
	checkpoints := addCheckpointFlags(fs, c.getenv) // --public-key: checkpoint.go
	if len(args) == 0 || args[0] != "verify" {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fmt.Fprintln(c.stderr, "hoso audit verify: give one dossier code, or none to verify every dossier")
		return flag.ErrHelp
	}
	if err := cf.validate(); err != nil {
		return err
	}
	if *checkpoints.publicKey != "" {
		return c.verifyCheckpoints(ctx, checkpoints, pos, cf.server, *cf.output)
	}
	cl := cf.server
	res := auditResult{Broken: []api.ChainReport{}}
	if len(pos) == 1 {
		var rep api.ChainReport
		if err := cl.Get(ctx, "/api/v1/dossiers/"+url.PathEscape(pos[0])+"/verify", &rep); err != nil {
			return err
		}
		rep.Dossier = pos[0]
		res.Checked = 1
		if !rep.OK {
			res.Broken = append(res.Broken, rep)
		}
		if *cf.output == "table" && rep.OK {
			fmt.Fprintf(c.stdout, "%s: chuỗi băm OK, %d mục, đầu %s; hồ sơ khớp lịch sử\n", rep.Dossier, rep.Entries, short(rep.Head.String()))
		}
	} else {
		v := url.Values{"limit": {strconv.Itoa(*limit)}}
		progress := progress{w: c.stderr, interval: progressEvery, line: auditLine}
		// The first page also checks the whole store once (indexes,
		// counters, every history key): at a province's scale, a store
		// read from disk, that takes longer than a request usually may.
		cl.Timeout = auditPageTimeout
		if *cf.output == "table" {
			fmt.Fprintln(c.stderr, "checking the store's indexes, counters and rows, then every dossier's chain")
		}
		for {
			var p api.AuditPage
			if err := cl.Get(ctx, "/api/v1/audit/verify?"+v.Encode(), &p); err != nil {
				return err
			}
			res.Checked += p.Checked
			for _, f := range p.Store {
				if *cf.output == "table" {
					printFinding(c.stdout, f)
				}
				res.Store = append(res.Store, f)
			}
			for _, rep := range p.Items {
				if *cf.output == "table" {
					printBroken(c.stdout, rep)
				}
				res.Broken = append(res.Broken, rep)
			}
			progress.report(res.Checked, p.Total, p.NextCursor == "")
			if p.NextCursor == "" {
				break
			}
			v.Set("cursor", p.NextCursor)
		}
	}
	if res.Store == nil {
		res.Store = []api.Finding{}
	}
	switch {
	case *cf.output == "json":
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	case len(pos) == 1 && len(res.Broken) == 1:
		printBroken(c.stdout, res.Broken[0])
	case len(pos) == 0:
		fmt.Fprintf(c.stdout, "đã kiểm tra %d hồ sơ: %d hồ sơ sai, %d lỗi của kho (chỉ mục, bộ đếm, bảng)\n",
			res.Checked, len(res.Broken), len(res.Store))
	}
	if len(res.Broken) > 0 || len(res.Store) > 0 {
		return exitError(1)
	}
	return nil
}

// printBroken names a dossier found wrong: its first bad chain entry, and
// each finding.
func printBroken(w io.Writer, r api.ChainReport) {
	if r.BrokenAt >= 0 {
		fmt.Fprintf(w, "%s: chuỗi băm HỎNG tại mục %d: %s\n", r.Dossier, r.BrokenAt, r.Problem)
	}
	for _, f := range r.Findings {
		f.Dossier = cmpOr(f.Dossier, r.Dossier)
		printFinding(w, f)
	}
}

// printFinding prints one finding on a line: the dossier, the field or
// the bucket and key, what the history or a recount implies and what the
// file holds, and the problem.
func printFinding(w io.Writer, f api.Finding) {
	var where []string
	for _, s := range []string{f.Dossier, f.Field, f.Bucket, f.Key} {
		if s != "" {
			where = append(where, s)
		}
	}
	line := strings.Join(where, ": ")
	if f.Want != "" || f.Got != "" {
		line += fmt.Sprintf(": cần %q, tệp có %q", f.Want, f.Got)
	}
	fmt.Fprintf(w, "%s — %s\n", line, f.Problem)
}

// checkpointFlags are the flags of `hoso audit verify --public-key`.
type checkpointFlags struct {
	publicKey *string
	latest    *bool
	nats      *natsFlags
}

func addCheckpointFlags(fs *flag.FlagSet, getenv func(string) string) checkpointFlags {
	return checkpointFlags{
		publicKey: fs.String("public-key", envOr(getenv, "HOSO_CHECKPOINT_PUBLIC_KEY", ""), "verify the store against the signed checkpoints of HOSO_CHECKPOINTS with this ed25519 public key (PEM) instead of the chains (env HOSO_CHECKPOINT_PUBLIC_KEY)"),
		latest:    fs.Bool("latest", false, "with --public-key: only the latest checkpoint"),
		nats:      addNATSFlags(fs, getenv, nats.DefaultURL, "with --public-key: the NATS server holding HOSO_CHECKPOINTS, read as the supervisors' user where it has users"),
	}
}

// checkpointProblem is one checkpoint that does not verify.
type checkpointProblem struct {
	StreamSeq uint64 `json:"stream_seq"`    // of the message in HOSO_CHECKPOINTS
	Seq       uint64 `json:"seq,omitempty"` // the checkpoint's applied sequence; 0 if unreadable
	Field     string `json:"field,omitempty"`
	Signed    string `json:"signed,omitempty"`     // the value the checkpoint signs
	Store     string `json:"recomputed,omitempty"` // the value the store recomputes
	Problem   string `json:"problem"`
}

// checkpointAt names a checkpoint by its sequence and time.
type checkpointAt struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
}

// checkpointOther is a checkpoint with a good signature computed under
// another store schema than the store's: made under other rules (a store
// rebuilt under a new schema decides the same events anew), it is not
// compared, and it is not a problem.
type checkpointOther struct {
	StreamSeq uint64 `json:"stream_seq"` // of the message in HOSO_CHECKPOINTS
	Seq       uint64 `json:"seq"`
	Version   int    `json:"version"` // of the checkpoint format
	// Schema is the store schema the checkpoint was signed under; absent
	// for version 1, which signs none (schema 5 or older).
	Schema int       `json:"schema,omitempty"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// checkpointResult is what `hoso audit verify --public-key -o json` prints.
type checkpointResult struct {
	KeyID string `json:"key_id"`
	// StoreSchema is the schema version of the store the server
	// recomputes from; absent when the server recomputed no checkpoint.
	StoreSchema int `json:"store_schema,omitempty"`
	Checked     int `json:"checked"`  // checkpoints read
	Verified    int `json:"verified"` // of the store's schema, equal to what it recomputes
	// NotComparable counts the checkpoints with a good signature of
	// another schema than the store's, listed in NotComparableItems.
	NotComparable int `json:"not_comparable"`
	// Latest is the newest checkpoint of the store's schema whose
	// signature verifies: how recent the anchor is (nil when there is
	// none).
	Latest             *checkpointAt       `json:"latest,omitempty"`
	Problems           []checkpointProblem `json:"problems"`
	NotComparableItems []checkpointOther   `json:"not_comparable_checkpoints"`
}

// verifyCheckpoints reads the checkpoints of HOSO_CHECKPOINTS, checks
// their signatures with the public key, asks the server for the
// checkpoints recomputed as of their sequences and compares those of the
// store's schema field by field; those of another schema are listed as
// not comparable. It exits with status 1 if one does not verify, or if
// none could be compared (there is none, or none of the store's schema).
func (c *auditCommand) verifyCheckpoints(ctx context.Context, f checkpointFlags, codes []string, cl *api.Client, output string) error {
	if len(codes) > 0 {
		fmt.Fprintln(c.stderr, "hoso audit verify --public-key: checks the whole store against its checkpoints; give no dossier code")
		return flag.ErrHelp
	}
	pub, err := events.LoadCheckpointPublicKey(*f.publicKey)
	if err != nil {
		return err
	}
	nc, err := f.nats.connect("hoso audit verify", "")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	res := checkpointResult{KeyID: events.KeyID(pub), Problems: []checkpointProblem{}, NotComparableItems: []checkpointOther{}}
	var (
		total       uint64
		pending     []events.CheckpointMessage // signed, not yet compared
		streams     []uint64                   // their stream sequences
		schemaKnown bool                       // res.StoreSchema is the server's answer
		compared    int                        // checkpoints of the store's schema compared or found not applied
	)
	problem := func(p checkpointProblem) {
		res.Problems = append(res.Problems, p)
		if output == "table" {
			fmt.Fprintln(c.stdout, p.String())
		}
	}
	other := func(m *events.CheckpointMessage, streamSeq uint64) {
		o := checkpointOther{StreamSeq: streamSeq, Seq: m.Seq, Version: m.Version, Schema: m.Schema, Time: m.Time,
			Reason: otherSchema(m, res.StoreSchema)}
		res.NotComparable++
		res.NotComparableItems = append(res.NotComparableItems, o)
		if output == "table" {
			fmt.Fprintln(c.stdout, o.String())
		}
	}
	// comparable counts m, of the store's schema, as compared.
	comparable := func(m *events.CheckpointMessage) {
		compared++
		if res.Latest == nil || m.Seq > res.Latest.Seq || m.Seq == res.Latest.Seq && m.Time.After(res.Latest.Time) {
			res.Latest = &checkpointAt{Seq: m.Seq, Time: m.Time}
		}
	}
	learn := func(schema int) { res.StoreSchema, schemaKnown = schema, true }
	// probe learns the store's schema from the checkpoint as of sequence
	// 1, when no answer gave it yet; it stays unknown if the store has
	// applied nothing.
	probe := func() error {
		var ans api.Checkpoints
		err := cl.Get(ctx, "/api/v1/audit/checkpoint?seq=1", &ans)
		var ae *api.StatusError
		switch {
		case errors.As(err, &ae) && ae.Code == "not_applied":
			return nil
		case err != nil:
			return err
		case len(ans.Items) != 1:
			return fmt.Errorf("asked 1 checkpoint, the server answered %d", len(ans.Items))
		}
		learn(ans.Items[0].Schema)
		return nil
	}
	// ask compares the checkpoints ms (of the stream sequences ss) with
	// those the store recomputes as of their sequences, in one request; a
	// sequence the store has not applied is asked again alone to name it.
	var ask func(ms []events.CheckpointMessage, ss []uint64) error
	ask = func(ms []events.CheckpointMessage, ss []uint64) error {
		seqs := make([]string, len(ms))
		for i, m := range ms {
			seqs[i] = strconv.FormatUint(m.Seq, 10)
		}
		var ans api.Checkpoints
		err := cl.Get(ctx, "/api/v1/audit/checkpoint?seq="+strings.Join(seqs, ","), &ans)
		var ae *api.StatusError
		switch {
		case errors.As(err, &ae) && ae.Code == "not_applied" && len(ms) > 1:
			for i := range ms {
				if err := ask(ms[i:i+1], ss[i:i+1]); err != nil {
					return err
				}
			}
			return nil
		case errors.As(err, &ae) && ae.Code == "not_applied":
			if !schemaKnown {
				if err := probe(); err != nil {
					return err
				}
			}
			if schemaKnown && ms[0].Schema != res.StoreSchema {
				other(&ms[0], ss[0])
				return nil
			}
			comparable(&ms[0])
			problem(checkpointProblem{StreamSeq: ss[0], Seq: ms[0].Seq, Field: "seq",
				Problem: "the store has not applied the sequence this checkpoint signs: " + ae.Message})
			return nil
		case err != nil:
			return err
		case len(ans.Items) != len(ms):
			return fmt.Errorf("asked %d checkpoints, the server answered %d", len(ms), len(ans.Items))
		}
		for i := range ms {
			m, got := &ms[i], ans.Items[i]
			learn(got.Schema)
			if m.Schema != got.Schema {
				other(m, ss[i])
				continue
			}
			comparable(m)
			diffs := m.Differences(got)
			for _, d := range diffs {
				problem(checkpointProblem{StreamSeq: ss[i], Seq: m.Seq, Field: d.Field, Signed: d.Signed, Store: d.Store,
					Problem: d.Field + " differs: the store was changed at or before this sequence"})
			}
			if len(diffs) == 0 {
				res.Verified++
			}
		}
		return nil
	}
	compare := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := ask(pending, streams); err != nil {
			return err
		}
		if total > web.MaxCheckpointSeqs && output == "table" {
			fmt.Fprintf(c.stderr, "checkpoints: %d/%d\n", res.Checked, total)
		}
		pending, streams = pending[:0], streams[:0]
		return nil
	}
	err = events.ReadCheckpoints(ctx, js, *f.latest, func(n uint64) { total = n }, func(streamSeq uint64, m *events.CheckpointMessage, err error) error {
		res.Checked++
		if err != nil {
			problem(checkpointProblem{StreamSeq: streamSeq, Problem: "unreadable: " + err.Error()})
			return nil
		}
		if err := m.Verify(pub); err != nil {
			p := checkpointProblem{StreamSeq: streamSeq, Seq: m.Seq, Problem: "signature refused: " + err.Error()}
			if errors.Is(err, events.ErrCheckpointSignature) {
				p.Problem = "bad signature: the checkpoint is not what the key signed"
			}
			problem(p)
			return nil
		}
		if schemaKnown && m.Schema != res.StoreSchema {
			other(m, streamSeq) // the server need not recompute it
			return nil
		}
		pending, streams = append(pending, *m), append(streams, streamSeq)
		if len(pending) == web.MaxCheckpointSeqs {
			return compare()
		}
		return nil
	})
	if err == nil {
		err = compare()
	}
	if err != nil {
		return fmt.Errorf("audit verify --public-key: %w", err)
	}
	switch {
	case res.Checked == 0:
		problem(checkpointProblem{Problem: "no checkpoint in " + events.CheckpointsStream + ": nothing anchors the store (is serve given --checkpoint-key?)"})
	case compared == 0 && res.NotComparable > 0:
		problem(checkpointProblem{Problem: fmt.Sprintf("no checkpoint of this store's schema %d: nothing could be compared, every checkpoint with a good signature (%d) was made under other rules; "+
			"the engine signs one of schema %d at its next checkpoint (is serve given --checkpoint-key?)", res.StoreSchema, res.NotComparable, res.StoreSchema)})
	}
	if output == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "đã kiểm tra %d điểm kiểm tra (checkpoint) với khóa %s: %d khớp, %d lỗi",
			res.Checked, res.KeyID, res.Verified, len(res.Problems))
		if res.NotComparable > 0 {
			fmt.Fprintf(c.stdout, ", %d không so được (ký theo schema khác; kho có schema %d)", res.NotComparable, res.StoreSchema)
		}
		fmt.Fprintln(c.stdout)
		if res.Latest != nil {
			fmt.Fprintf(c.stdout, "điểm kiểm tra mới nhất có chữ ký hợp lệ: seq %d lúc %s\n", res.Latest.Seq, vnTime(res.Latest.Time))
		}
	}
	if len(res.Problems) > 0 {
		return exitError(1)
	}
	return nil
}

// otherSchema says why m, signed under another schema than store's (0:
// a server that states none, of schema 5 or older), is not compared.
func otherSchema(m *events.CheckpointMessage, store int) string {
	signed := "signed under schema " + strconv.Itoa(m.Schema)
	if m.Version == events.CheckpointVersion1 {
		signed = "signed under schema 5 or older (checkpoint version 1)"
	}
	this := "this store has schema " + strconv.Itoa(store)
	if store == 0 {
		this = "this store's server states no schema (5 or older)"
	}
	return signed + ", " + this + ": made under other rules, not comparable"
}

// String is the line `hoso audit verify --public-key` prints for o.
func (o checkpointOther) String() string {
	return fmt.Sprintf("checkpoint %d (message %d of %s): %s", o.Seq, o.StreamSeq, events.CheckpointsStream, o.Reason)
}

// String is the line `hoso audit verify --public-key` prints for p.
func (p checkpointProblem) String() string {
	var b strings.Builder
	if p.StreamSeq != 0 {
		fmt.Fprintf(&b, "checkpoint %d (message %d of %s): ", p.Seq, p.StreamSeq, events.CheckpointsStream)
	}
	b.WriteString(p.Problem)
	if p.Field != "" && (p.Signed != "" || p.Store != "") {
		fmt.Fprintf(&b, " (signed %s, recomputed %s)", p.Signed, p.Store)
	}
	return b.String()
}
