package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/internal/testutil"
	"github.com/hoso-vn/hoso/reconcile"
)

// TestReconcileCLI runs `hoso reconcile` against a running instance.
func TestReconcileCLI(t *testing.T) {
	f := testutil.NewReconcileFixture(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "xuat.csv")
	if err := os.WriteFile(file, []byte(testutil.ReconcileExportCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	hosoCmd := func(stdin string, args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"reconcile"}, args...), func(k string) string {
			if k == "HOSO_SERVER" {
				return f.In.HTTPURL
			}
			return ""
		}, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), err
	}

	out, _, err := hosoCmd("", file, "--agency", "H57")
	if code, ok := err.(exitError); !ok || code != 1 {
		t.Fatalf("reconcile with differences = %v, want exit status 1\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ") // tabwriter's padding aside
	for _, want := range []string{
		"7 dòng (csv), lần đối soát " + reconcile.RunID([]byte(testutil.ReconcileExportCSV)),
		"5 hồ sơ hoso có, 1 khớp hoàn toàn; 10 khác biệt; 2 dòng lỗi",
		"Phạm vi cơ quan H57, hồ sơ đang giải quyết",
		"Trạng thái khác status_differs 2 Hồ sơ hoso không có unknown_dossier 2 Thiếu kết quả điện tử result_missing 2",
		"Ngày hẹn trả khác due_differs 1 Không có trong file xuất missing_from_export 1",
		testutil.ReconcileProcessing + " 3 9 Đã xử lý xong 4 Đang xử lý H57",
		testutil.ReconcilePayment + " 6 6 Yêu cầu thực hiện nghĩa vụ tài chính 4 Đang xử lý H57",
		testutil.ReconcileUnknown + " 7 4 Đang xử lý - -",
		testutil.ReconcileOnline + " 4 không có H57",
		testutil.ReconcileProcessing + " 3 2025-10-16 2025-10-15 H57",
		testutil.ReconcileSubmitted + " - - 1 Mới đăng ký H57",
		"Dòng lỗi: 2",
		`8 - Mã hồ sơ "R 09" không phải mã hồ sơ`,
		testutil.ReconcileBadStatus + ` Trạng thái "11" không phải mã trạng thái 1–10 hay tên trạng thái`,
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("reconcile output lacks %q:\n%s", want, out)
		}
	}

	// -o json prints the API's report; standard input works as a file.
	out, _, err = hosoCmd(testutil.ReconcileExportCSV, "-", "--format", "csv", "--scope", "all", "-o", "json")
	var a api.Reconcile
	if code, ok := err.(exitError); !ok || code != 1 || json.Unmarshal([]byte(out), &a) != nil {
		t.Fatalf("reconcile -o json = %v\n%s", err, out)
	}
	want := testutil.WantReport(testutil.MissingDossier(testutil.ReconcileSubmitted, "H57", 1), testutil.MissingDossier(testutil.ReconcileStopped, "H57", 8), testutil.MissingDossier(testutil.ReconcileOtherAgency, "H58", 1))
	if diff := cmp.Diff(want, a.Report); diff != "" {
		t.Errorf("reconcile -o json report (-want +got):\n%s", diff)
	}

	// An export that agrees with hoso: exit status 0.
	clean := filepath.Join(dir, "clean.json")
	if err := os.WriteFile(clean, []byte(`[{"code":"`+testutil.ReconcileReturned+`","status":10,"has_result":true,"due":"2025-10-15"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = hosoCmd("", clean, "--scope", "none")
	if err != nil || !strings.Contains(out, "1 hồ sơ hoso có, 1 khớp hoàn toàn; 0 khác biệt; 0 dòng lỗi") || strings.Contains(out, "MÃ HỒ SƠ") {
		t.Fatalf("reconcile of an agreeing export = %v\n%s", err, out)
	}

	// Trouble is exit status 2, with the server's message.
	_, errOut, err := hosoCmd("", file, "--scope", "some")
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, `scope: "some" is not one of open, all, none`) {
		t.Fatalf("reconcile --scope some = %v, %q", err, errOut)
	}
	_, errOut, err = hosoCmd("", filepath.Join(dir, "nothing.csv"))
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("reconcile of a missing file = %v, %q", err, errOut)
	}
	_, errOut, err = hosoCmd("", file, "--server", "http://127.0.0.1:1")
	if code, ok := err.(exitError); !ok || code != 2 || !strings.Contains(errOut, "is `hoso serve` running?") {
		t.Fatalf("reconcile without a server = %v, %q", err, errOut)
	}
	if _, _, err = hosoCmd(""); err != flag.ErrHelp {
		t.Fatalf("reconcile without a file = %v, want flag.ErrHelp", err)
	}

	// --publish prints what was published, and the exit status still
	// says the export disagrees.
	out, errOut, err = hosoCmd("", file, "--agency", "H57", "--publish")
	if code, ok := err.(exitError); !ok || code != 1 || !strings.Contains(strings.Join(strings.Fields(out), " "), "Đã gửi 2 thông báo sửa trạng thái (2 mới)") {
		t.Fatalf("reconcile --publish = %v\n%s%s", err, out, errOut)
	}
}
