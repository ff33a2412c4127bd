package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/internal/testutil"

	"github.com/google/go-cmp/cmp"
)

// natsCLIVersion is the nats CLI the worked example is written for: its
// output blocks are that version's.
const natsCLIVersion = "v0.5.0"

// exampleHeading opens the worked example in docs/contract.md; it ends at
// the next level-two heading.
const exampleHeading = "## A worked example with the `nats` CLI"

// An exampleBlock is a fenced block of the worked example, with the role
// its marker comment (<!-- worked-example: ROLE -->) gives it:
//
//   - "shell": commands of the reader's third terminal, run in order,
//     each block by itself; they must succeed, or with "shell, exit N"
//     end with status N;
//   - "output": what the shell block before it prints, stdout and stderr
//     together;
//   - "serve": the one `go run ./cmd/hoso serve …` command of the first
//     terminal;
//   - "env": the settings every later shell and background block runs
//     after;
//   - "background": the command of the second terminal, which runs until
//     the end;
//   - "background output": the next part of what the background command
//     prints.
type exampleBlock struct {
	Role string
	Line int // of the opening fence in docs/contract.md
	Text string
	Exit int // the exit status a shell block ends with
}

var exampleMarker = regexp.MustCompile(`^<!-- worked-example: ([a-z ]+)(?:, exit (\d+))? -->$`)

// parseExample returns the marked blocks of the worked example in md. A
// fenced block of the example without a marker, or a marker of an
// unknown role or not followed by a block, is an error: every block is run
// or compared.
func parseExample(md string) ([]exampleBlock, error) {
	lines := strings.Split(md, "\n")
	start := slices.Index(lines, exampleHeading)
	if start < 0 {
		return nil, fmt.Errorf("docs/contract.md has no heading %q", exampleHeading)
	}
	var blocks []exampleBlock
	role, exit := "", 0
	for i := start + 1; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "## ") {
			break
		}
		if m := exampleMarker.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "shell", "output", "serve", "env", "background", "background output":
			default:
				return nil, fmt.Errorf("contract.md:%d: unknown role %q", i+1, m[1])
			}
			role, exit = m[1], 0
			if m[2] != "" {
				exit, _ = strconv.Atoi(m[2])
			}
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if role != "" && strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("contract.md:%d: a marker must come right before its block", i+1)
			}
			continue
		}
		if role == "" {
			return nil, fmt.Errorf("contract.md:%d: a block of the worked example without a <!-- worked-example: … --> marker", i+1)
		}
		b := exampleBlock{Role: role, Line: i + 1, Exit: exit}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		b.Text = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, b)
		role = ""
	}
	return blocks, nil
}

// lookNATS returns the path of the nats CLI of version natsCLIVersion, on
// PATH or where go install puts it (.ci/run installs it there), and fails
// the test when there is none.
func lookNATS(t *testing.T) string {
	t.Helper()
	var candidates, found []string
	if p, err := exec.LookPath("nats"); err == nil {
		candidates = append(candidates, p)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "bin", "nats"))
	}
	for _, p := range candidates {
		out, err := exec.Command(p, "--version").CombinedOutput()
		v := strings.TrimSpace(string(out))
		if err == nil && v == natsCLIVersion {
			return p
		}
		if err == nil {
			found = append(found, p+" "+v)
		}
	}
	t.Fatalf("no nats CLI %s (found: %v); the worked example's output is that version's: .ci/run installs it (go install github.com/nats-io/natscli/nats@%s)",
		natsCLIVersion, found, natsCLIVersion)
	return ""
}

// examplePrelude runs before every block: `go run ./cmd/hoso ARGS` runs
// the hoso binary the test built (on PATH) with ARGS, as the repository's
// root would; the shell stops at the first command that fails.
const examplePrelude = `set -e
go() {
	if [ "$1" != run ] || [ "$2" != ./cmd/hoso ]; then
		echo "worked example: only go run ./cmd/hoso is run here, not go $*" >&2
		return 127
	fi
	shift 2
	hoso "$@"
}
`

// TestWorkedExample runs the worked example of docs/contract.md as
// written, against `hoso serve --nats-users` with the users file it
// writes, and compares what each command prints with the example's output
// blocks.
//
// The blocks run with bash in a temporary directory with hoso and nats on
// PATH, a HOME of their own (no nats context of the machine's) and none of
// the test's environment variables. The serve block runs the built hoso
// with the block's arguments there, on free ports (HOSO_NATS_PORT=0,
// HOSO_HTTP_ADDR=127.0.0.1:0, HOSO_LOG_FORMAT=json in its environment);
// every other block runs after the env block and the test's own
// `export NATS_URL=… HOSO_SERVER=…` with that server's addresses. The
// background block runs from its place to the end; the test waits for
// its first line (`Subscribing on …`) before it goes on.
//
// Output is compared line by line after these changes, on both sides:
// a time of day opening a line (08:15:02) is a wildcard, white space at
// the end of a line and empty lines are dropped, and the header lines
// of a received message (from the `Received on` line to the empty line)
// are sorted, since their order varies. In the documented output, `…`
// matches any text within its line. What the background command prints
// must begin with its documented output, in order: it goes on printing
// the outcomes of later commands.
func TestWorkedExample(t *testing.T) {
	natsPath := lookNATS(t)
	md, err := os.ReadFile(filepath.Join(repoRoot, "docs", "contract.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseExample(string(md))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	home := filepath.Join(dir, ".home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + strings.Join([]string{filepath.Dir(hosoBin), filepath.Dir(natsPath), "/usr/local/bin", "/usr/bin", "/bin"}, string(os.PathListSeparator)),
		"HOME=" + home, "LANG=C.UTF-8", "TZ=UTC",
	}

	var (
		h                    *hoso
		setup                string // the env blocks and the test's addresses
		last                 *exampleBlock
		lastOut              string
		bgOut                *testutil.SyncBuffer
		bgWant               strings.Builder
		serves, envs, shells int
	)
	for i := range blocks {
		b := &blocks[i]
		where := fmt.Sprintf("contract.md:%d", b.Line)
		switch b.Role {
		case "serve":
			args := strings.Fields(b.Text)
			if len(args) < 4 || strings.Join(args[:4], " ") != "go run ./cmd/hoso serve" || strings.ContainsAny(b.Text, `'"$\`) || strings.Count(strings.TrimSpace(b.Text), "\n") > 0 {
				t.Fatalf("%s: the serve block must be one line `go run ./cmd/hoso serve FLAGS…` without quotes or variables, not %q", where, b.Text)
			}
			h = runServe(t, dir, append(slices.Clone(env), "HOSO_NATS_PORT=0", "HOSO_HTTP_ADDR=127.0.0.1:0", "HOSO_LOG_FORMAT=json"), args[3:]...)
			serves++
		case "env":
			if h == nil {
				t.Fatalf("%s: the env block comes before the serve block", where)
			}
			for _, v := range []string{"NATS_URL=", "HOSO_SERVER="} {
				if !strings.Contains(b.Text, v) {
					t.Fatalf("%s: the env block sets no %s…: the test could not point the commands at its server", where, v)
				}
			}
			setup += b.Text + fmt.Sprintf("export NATS_URL=%s HOSO_SERVER=%s\n", h.NATSURL, h.HTTPURL)
			envs++
		case "shell":
			out, code := runBlock(t, dir, env, setup+b.Text)
			if code != b.Exit {
				log := "(not started)"
				if h != nil {
					log = h.log.String()
				}
				t.Fatalf("%s: the block ended with exit status %d, want %d; it printed:\n%s\nhoso's log:\n%s", where, code, b.Exit, out, log)
			}
			last, lastOut = b, out
			shells++
		case "output":
			if last == nil {
				t.Fatalf("%s: an output block without a shell block before it", where)
			}
			if diff := compareOutput(b.Text, lastOut); diff != "" {
				t.Errorf("%s: the block of contract.md:%d printed other output (-documented +printed):\n%s", where, last.Line, diff)
			}
			last = nil
		case "background":
			if bgOut != nil {
				t.Fatalf("%s: a second background block", where)
			}
			bgOut = startBackground(t, dir, env, setup+b.Text)
			waitFor(t, where+": the background command's first line", func() bool { return strings.Contains(bgOut.String(), "\n") })
		case "background output":
			if bgOut == nil {
				t.Fatalf("%s: background output before the background block", where)
			}
			bgWant.WriteString(b.Text)
		}
	}
	if serves != 1 || envs == 0 || shells == 0 || bgOut == nil {
		t.Fatalf("the worked example has %d serve, %d env and %d shell blocks and background %v: want one serve block, an env block, shell blocks and a background block",
			serves, envs, shells, bgOut != nil)
	}

	// The subscriber prints each outcome after the publish that caused it
	// returned: wait until it has printed as many messages as documented.
	want := bgWant.String()
	n := strings.Count(want, "] Received on ")
	waitFor(t, fmt.Sprintf("%d messages from the background command", n), func() bool {
		return strings.Count(bgOut.String(), "] Received on ") >= n
	})
	got := bgOut.String()
	if i := nthIndex(got, "[#", n+1); i >= 0 {
		got = got[:i]
	}
	if diff := compareOutput(want, got); diff != "" {
		t.Errorf("the background command printed other output (-documented +printed):\n%s", diff)
	}

	checkChain(t, h, "000.00.12.H57-250901-0001", 2)
}

// runBlock runs script with bash in dir and returns what it printed,
// stdout and stderr as they came, and its exit status.
func runBlock(t *testing.T, dir string, env []string, script string) (string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "-c", examplePrelude+script)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("bash: %v\n%s", err, out.String())
		return "", -1
	}
}

// startBackground runs script with bash in dir in a process group of its
// own, until the test ends.
func startBackground(t *testing.T, dir string, env []string, script string) *testutil.SyncBuffer {
	t.Helper()
	out := &testutil.SyncBuffer{}
	cmd := exec.Command("bash", "-c", examplePrelude+script)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	return out
}

// waitFor polls cond until it holds, and fails the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nthIndex returns the index of the nth occurrence of sub in s, or -1.
func nthIndex(s, sub string, n int) int {
	at := 0
	for k := 0; k < n; k++ {
		i := strings.Index(s[at:], sub)
		if i < 0 {
			return -1
		}
		if k == n-1 {
			return at + i
		}
		at += i + len(sub)
	}
	return -1
}

var timeOfDay = regexp.MustCompile(`^\d\d:\d\d:\d\d `)

// normalizeOutput returns the lines of out as TestWorkedExample compares
// them.
func normalizeOutput(out string) []string {
	var lines []string
	headers := -1 // index in lines of the first header of a message, while in its headers
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		line = timeOfDay.ReplaceAllString(line, "HH:MM:SS ")
		if line == "" {
			if headers >= 0 {
				slices.Sort(lines[headers:])
				headers = -1
			}
			continue
		}
		lines = append(lines, line)
		if strings.Contains(line, "] Received on ") {
			headers = len(lines)
		}
	}
	if headers >= 0 {
		slices.Sort(lines[headers:])
	}
	return lines
}

// compareOutput compares the printed output got with the documented want,
// whose `…` matches any text within a line, and returns their difference,
// or "" when they match.
func compareOutput(want, got string) string {
	w, g := normalizeOutput(want), normalizeOutput(got)
	if len(w) == len(g) {
		match := true
		for i := range w {
			if !lineMatches(w[i], g[i]) {
				match = false
				break
			}
		}
		if match {
			return ""
		}
	}
	return cmp.Diff(w, g)
}

func lineMatches(want, got string) bool {
	if !strings.Contains(want, "…") {
		return want == got
	}
	parts := strings.Split(want, "…")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// historyEntry is an entry of GET /api/v1/dossiers/{code}'s history, with
// the fields "The history chain" of docs/contract.md hashes.
type historyEntry struct {
	Index      int    `json:"index"`
	Seq        uint64 `json:"seq"`
	EventID    string `json:"event_id"`
	Source     string `json:"source"`
	Action     string `json:"action"`
	From       string `json:"from"`
	To         string `json:"to"`
	FromStatus *struct {
		Code int `json:"code"`
	} `json:"from_status"`
	ToStatus *struct {
		Code int `json:"code"`
	} `json:"to_status"`
	Time        string `json:"time"`
	Actor       string `json:"actor"`
	Agency      string `json:"agency"`
	Department  string `json:"department"`
	Reason      string `json:"reason"`
	Note        string `json:"note"`
	Due         string `json:"due"`
	Timing      string `json:"timing"`
	Attachments []struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"attachments"`
	Channel      string `json:"channel"`
	Payment      string `json:"payment"`
	Satisfaction int    `json:"satisfaction"`
	PrevHash     string `json:"prev_hash"`
	Hash         string `json:"hash"`
}

// checkChain recomputes the history chain of the dossier code as "The
// history chain" of docs/contract.md says, from its history in the API,
// and checks that each entry's hash is the one hoso gave (and the worked
// example's outcomes show), and that the history has n entries.
func checkChain(t *testing.T, h *hoso, code string, n int) {
	t.Helper()
	var d struct {
		Code    string         `json:"code"`
		History []historyEntry `json:"history"`
	}
	h.getJSON(t, "/api/v1/dossiers/"+code, &d)
	if len(d.History) != n {
		t.Fatalf("dossier %s has %d history entries, want %d", code, len(d.History), n)
	}
	utc := func(s string) string {
		if s == "" {
			return ""
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("history time %q: %v", s, err)
		}
		return tm.UTC().Format(time.RFC3339Nano)
	}
	status := func(s *struct {
		Code int `json:"code"`
	}) string {
		if s == nil {
			return "0"
		}
		return strconv.Itoa(s.Code)
	}
	prev := make([]byte, sha256.Size)
	for _, e := range d.History {
		fields := []string{"hoso-history-v1", d.Code, strconv.Itoa(e.Index), strconv.FormatUint(e.Seq, 10), e.EventID,
			e.Source, e.Action, e.From, e.To, status(e.FromStatus), status(e.ToStatus),
			utc(e.Time), e.Actor, e.Agency, e.Department, e.Reason, e.Note, utc(e.Due), e.Timing,
			strconv.Itoa(len(e.Attachments))}
		for _, a := range e.Attachments {
			fields = append(fields, a.Kind, a.Name, a.SHA256)
		}
		if e.Channel != "" || e.Payment != "" || e.Satisfaction != 0 {
			fields = append(fields, "facts", e.Channel, e.Payment, strconv.Itoa(e.Satisfaction))
		}
		sum := sha256.New()
		sum.Write(prev)
		for _, f := range fields {
			sum.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
			sum.Write([]byte(f))
		}
		prev = sum.Sum(nil)
		if got := hex.EncodeToString(prev); got != e.Hash {
			t.Errorf("entry %d of %s: the chain of contract.md gives hash %s, hoso shows %s", e.Index, code, got, e.Hash)
		}
	}
}
