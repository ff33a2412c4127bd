package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoso-vn/hoso/reconcile"
)

// BenchmarkReconcileUpload measures one reconciliation of the largest
// export the server takes in rows (reconcile.MaxRows), through HTTP: its
// B/op is what each of Limits.Reconciles running at once allocates.
func BenchmarkReconcileUpload(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("ma_ho_so,trang_thai,co_ket_qua,da_so_hoa,ngay_hen_tra\n")
	for i := range reconcile.MaxRows {
		fmt.Fprintf(&sb, "000.00.12.H57-251001-%06d,4,có,có,15/10/2025\n", i)
	}
	export := sb.String()
	srv := httptest.NewServer(New(Config{Store: codesStore{}}))
	defer srv.Close()
	b.SetBytes(int64(len(export)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(srv.URL+"/api/v1/reconcile?format=csv&scope=none", "text/csv", strings.NewReader(export))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("reconcile = %d", resp.StatusCode)
		}
	}
}
