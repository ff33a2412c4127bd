package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/workflow"
)

// TestCLI runs the client commands against a running instance.
func TestCLI(t *testing.T) {
	f := testutil.NewAPIFixture(t)
	hosoCmd := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, func(k string) string {
			if k == "HOSO_SERVER" {
				return f.In.HTTPURL
			}
			return ""
		}, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}

	out, _, err := hosoCmd("dossier", "show", f.Codes[1])
	if err != nil {
		t.Fatalf("dossier show: %v", err)
	}
	// The fixture's events happened in October 2025 and reach the stream
	// now: the two accepted are late entries.
	for _, want := range []string{"4 Đang xử lý", "standard@2", "tu-phap", "OK, 2 mục", "invalid_transition", "1 sự kiện; 2 lần báo sai", "trực tiếp",
		"NHẬP LÚC", "late_entry"} {
		if !strings.Contains(out, want) {
			t.Errorf("dossier show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`Cập nhật muộn\s+2 sự kiện`).MatchString(out) {
		t.Errorf("dossier show does not count 2 late entries:\n%s", out)
	}
	if out, _, err := hosoCmd("dossier", "show", f.Codes[2]); err != nil || !strings.Contains(out, "trực tuyến") {
		t.Errorf("dossier show of a dossier submitted online = %v, lacks \"trực tuyến\":\n%s", err, out)
	}
	out, _, err = hosoCmd("dossier", "show", "-o", "json", f.Codes[0])
	var doc struct {
		Dossier struct {
			Code string `json:"code"`
		} `json:"dossier"`
		Verify struct {
			OK bool `json:"ok"`
		} `json:"verify"`
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || doc.Dossier.Code != f.Codes[0] || !doc.Verify.OK {
		t.Fatalf("dossier show -o json = %v, %s", err, out)
	}
	if _, _, err = hosoCmd("dossier", "show", "000.00.12.H57-999999-0000"); err == nil || !strings.Contains(err.Error(), "no dossier") {
		t.Fatalf("dossier show of an unknown code: %v", err)
	}
	if _, _, err = hosoCmd("dossier", "show", "--server", "http://127.0.0.1:1", f.Codes[0]); err == nil || !strings.Contains(err.Error(), "is `hoso serve` running?") {
		t.Fatalf("dossier show without a server: %v", err)
	}

	// emit from a CloudEvent file, as a vendor would test a payload.
	file := filepath.Join(t.TempDir(), "event.json")
	payload := `{"specversion":"1.0","id":"file-1","source":"/motcua/tayninh","type":"vn.gov.hoso.submit",
		"subject":"000.00.12.H57-251001-0009","time":"2025-10-02T08:00:00+07:00",
		"data":{"procedure":"1.004227","agency":"H57","actor":"cd-01","claimed_status":1}}`
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = hosoCmd("emit", "--nats-url", f.In.NATSURL, "--file", file, "-o", "json")
	var o struct {
		Kind   string `json:"kind"`
		Status int    `json:"status"`
		Source string `json:"source"`
	}
	if err != nil || json.Unmarshal([]byte(out), &o) != nil || o.Kind != "accepted" || o.Status != 1 || o.Source != "tayninh" {
		t.Fatalf("emit --file = %v, %s", err, out)
	}
	// A malformed file payload is published as is and rejected by the engine.
	if err := os.WriteFile(file, []byte(`{"id":"file-2","subject":"X-1","source":"/a/tayninh","data":{"colour":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = hosoCmd("emit", "--nats-url", f.In.NATSURL, "--file", file)
	if err == nil || !strings.Contains(out, "malformed") {
		t.Fatalf("emit of a malformed file = %v, %s", err, out)
	}
	if _, _, err = hosoCmd("emit", "--nats-url", f.In.NATSURL, "--source", "tayninh"); err == nil || !strings.Contains(err.Error(), "--action, --actor, --agency, --dossier, --procedure") {
		t.Fatalf("emit without flags: %v", err)
	}

	// A receipt of 1 October 2025 that the one-stop-shop says it entered an
	// hour later (--entered) is not a late entry, although it reaches the
	// stream now; the same without --entered is one.
	for code, entered := range map[string]string{"000.00.12.H57-251001-0011": "2025-10-01T10:00:00+07:00", "000.00.12.H57-251001-0012": ""} {
		args := []string{"emit", "--nats-url", f.In.NATSURL, "--source", "tayninh", "--dossier", code, "--action", "receive",
			"--procedure", "1.004227", "--agency", "H57", "--actor", "cb-01", "--attach", "input_digitized:don.pdf",
			"--time", "2025-10-01T09:00:00+07:00"}
		if entered != "" {
			args = append(args, "--entered", entered)
		}
		if out, errb, err := hosoCmd(args...); err != nil || !strings.Contains(out, "accepted") {
			t.Fatalf("emit --entered %q = %v\n%s%s", entered, err, out, errb)
		}
		want := []string{"late_entry"}
		if entered != "" {
			want = []string{}
		}
		out, _, err := hosoCmd("irregularities", "-o", "json", "--dossier", code)
		if got, _ := codesOf(t, out, "kind"); err != nil || !slices.Equal(got, want) {
			t.Errorf("irregularities of a receipt emitted with --entered %q = %v %v, want %v", entered, err, got, want)
		}
	}
	if _, _, err = hosoCmd("emit", "--nats-url", f.In.NATSURL, "--source", "tayninh", "--dossier", "000.00.12.H57-251001-0013", "--action", "submit",
		"--procedure", "1.004227", "--agency", "H57", "--actor", "cb-01", "--entered", "2025-10-01"); err == nil || !strings.Contains(err.Error(), "--entered") {
		t.Errorf("emit --entered 2025-10-01 = %v, want the flag named", err)
	}
	// An entry time before the event's is refused before it is published.
	if out, _, err := hosoCmd("emit", "--nats-url", f.In.NATSURL, "--source", "tayninh", "--dossier", "000.00.12.H57-251001-0014", "--action", "submit",
		"--procedure", "1.004227", "--agency", "H57", "--actor", "cb-01", "--time", "2025-10-01T09:00:00+07:00",
		"--entered", "2025-10-01T08:00:00+07:00"); err == nil || !strings.Contains(err.Error(), "--entered") || !strings.Contains(err.Error(), "is before --time") {
		t.Errorf("emit --entered before --time = %v, %s; want it refused", err, out)
	}

	// The client commands send --token, or HOSO_TOKEN, as a bearer token,
	// to an engine with an access file.
	accessFile := filepath.Join(t.TempDir(), "access.yaml")
	tokens := testutil.WriteAccess(t, accessFile, testutil.AccessUser{Name: "viewer-h57", Role: "viewer", Agencies: []string{"H57"}},
		testutil.AccessUser{Name: "auditor", Role: "auditor"})
	in := startServe(t, t.TempDir(), "--access", accessFile)
	codeH57, codeX99 := "000.00.12.H57-251001-0001", "000.00.12.X99-251001-0001"
	for code, agency := range map[string]string{codeH57: "H57", codeX99: "X99"} {
		if out, errb, err := hosoCmd("emit", "--nats-url", in.NATSURL, "--source", "tayninh", "--dossier", code, "--action", "submit",
			"--procedure", "1.004227", "--agency", agency, "--actor", "cb-01", "--time", "2025-10-01T09:00:00+07:00"); err != nil {
			t.Fatalf("emit: %v\n%s%s", err, out, errb)
		}
	}
	var outb, errb bytes.Buffer
	err = run(context.Background(), []string{"dossier", "list", "--server", in.HTTPURL, "-o", "json"}, noEnv, strings.NewReader(""), &outb, &errb)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("dossier list without a token = %v, want HTTP 401", err)
	}
	outb.Reset()
	err = run(context.Background(), []string{"dossier", "list", "--server", in.HTTPURL, "-o", "json", "--token", tokens["viewer-h57"]}, noEnv, strings.NewReader(""), &outb, &errb)
	if err != nil || !strings.Contains(outb.String(), codeH57) || strings.Contains(outb.String(), codeX99) {
		t.Errorf("dossier list --token (viewer-h57) = %v, %s; want only %s", err, outb.String(), codeH57)
	}
	outb.Reset()
	env := func(k string) string {
		return map[string]string{"HOSO_TOKEN": tokens["auditor"], "HOSO_SERVER": in.HTTPURL}[k]
	}
	if err := run(context.Background(), []string{"audit", "verify"}, env, strings.NewReader(""), &outb, &errb); err != nil {
		t.Errorf("audit verify with HOSO_TOKEN (auditor) = %v, %s", err, errb.String())
	}
	for name, tok := range tokens {
		if strings.Contains(in.Logs.String(), tok) {
			t.Errorf("the log holds %s's token", name)
		}
	}
}

func TestDefinitionsCommand(t *testing.T) {
	hosoCmd := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), err
	}
	out, _, err := hosoCmd("definitions", "validate", "../../configs/definitions")
	if err != nil || !strings.Contains(out, "ok: 5 definitions (feedback@1, land@1, same-day@1, standard@1, standard@2)") {
		t.Fatalf("validate shipped = %v, %s", err, out)
	}
	dir := t.TempDir()
	bad := "id: x\nversion: 1\nname: {vi: X}\neffective: 2025-01-01\nprocedures: ['*']\nstates:\n  - {name: a, status: 2}\nactions:\n  - {name: go, from: [start], to: b}\n"
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := hosoCmd("definitions", "validate", dir)
	if code, ok := err.(exitError); !ok || code != 1 {
		t.Fatalf("validate bad = %v, want exit status 1", err)
	}
	for _, want := range []string{filepath.Join(dir, "x.yaml") + ":7: state \"a\" is unreachable", filepath.Join(dir, "x.yaml") + ":9: action \"go\": to state \"b\" is not defined", "problems"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
	out, _, err = hosoCmd("definitions", "show", "land", "--format", "dot")
	if err != nil || !strings.Contains(out, `digraph "land@1"`) || !strings.Contains(out, `"tax_review" -> "payment" [label="request_payment"];`) {
		t.Fatalf("definitions show land --format dot = %v, %s", err, out)
	}
	out, _, err = hosoCmd("definitions", "show", "standard@1")
	if err != nil || !strings.Contains(out, "stateDiagram-v2") || !strings.Contains(out, "standard@1") {
		t.Fatalf("definitions show standard@1 = %v, %s", err, out)
	}
	if _, _, err = hosoCmd("definitions", "show", "nope"); err == nil || !strings.Contains(err.Error(), "known: feedback@1") {
		t.Fatalf("definitions show nope = %v", err)
	}
	out, _, err = hosoCmd("definitions", "list")
	if err != nil || !strings.Contains(out, "standard@2") || !strings.Contains(out, "2025-07-01") {
		t.Fatalf("definitions list = %v, %s", err, out)
	}
}

func TestServeFlags(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "-h"}, noEnv, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "-nats-url") || !strings.Contains(errb.String(), "HOSO_DATA_DIR") {
		t.Fatalf("serve -h = %v, %s", err, errb.String())
	}
	err = run(context.Background(), []string{"serve", "--batch-max", "0", "--nats-sync", "sometimes", "--http-addr", "nowhere"}, noEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{"batch max 0", "nats sync \"sometimes\"", "http addr \"nowhere\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with bad flags = %v, want it to name %s", err, want)
		}
	}
	// The environment configures what flags do not.
	err = run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"HOSO_BATCH_MAX": "0"}[k]
	}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "batch max 0") {
		t.Fatalf("serve with HOSO_BATCH_MAX=0 = %v", err)
	}
	// A variable that does not parse is an error, not the default …
	badEnv := func(k string) string {
		return map[string]string{"HOSO_NATS_PORT": "42x2", "HOSO_DEADLINE_INTERVAL": "5", "HOSO_BATCH_MAX": "lots"}[k]
	}
	err = run(context.Background(), []string{"serve"}, badEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{`HOSO_NATS_PORT="42x2": not a whole number`, `HOSO_DEADLINE_INTERVAL="5": not a duration`, `HOSO_BATCH_MAX="lots"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with malformed environment = %v, want it to name %s", err, want)
		}
	}
	// The statistics' rates: a base and a rounding of their own lists,
	// from the flags or the environment.
	err = run(context.Background(), []string{"serve", "--rate-base", "issued", "--rate-rounding", "ceil"}, noEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{`rate base "issued": must be received or resolved`, `rate rounding "ceil": must be truncate or round`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with bad rates = %v, want it to name %s", err, want)
		}
	}
	cfg, err := parseServe(nil, func(k string) string {
		return map[string]string{"HOSO_RATE_BASE": "resolved", "HOSO_RATE_ROUNDING": "round"}[k]
	}, io.Discard)
	if err != nil || cfg.Rates != (workflow.Rates{Base: workflow.BaseResolved, Rounding: workflow.RoundHalfUp}) {
		t.Errorf("serve with HOSO_RATE_BASE=resolved HOSO_RATE_ROUNDING=round: rates %+v, %v", cfg.Rates, err)
	}
	if cfg, err = parseServe(nil, noEnv, io.Discard); err != nil || cfg.Rates != workflow.DefaultRates() {
		t.Errorf("serve: rates %+v, %v; want received, truncated", cfg.Rates, err)
	}
	// A replica needs a shared NATS deployment and a name of consumer-name
	// characters.
	err = run(context.Background(), []string{"serve", "--replica", "A.1", "--replica-lease", "100ms"}, noEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{`replica "A.1"`, "replica lease 100ms", "give its --nats-url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with a bad replica = %v, want it to name %s", err, want)
		}
	}
	// … unless the flag overrides it.
	err = run(context.Background(), []string{"serve", "--nats-port", "4222", "--deadline-interval", "1m", "--batch-max", "0"}, badEnv, strings.NewReader(""), &out, &errb)
	if err == nil || strings.Contains(err.Error(), "environment") || !strings.Contains(err.Error(), "batch max 0") {
		t.Errorf("serve with malformed environment overridden by flags = %v, want only the batch max flag's error", err)
	}
}
