package web

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoso-vn/hoso/reconcile"
)

// BenchmarkReconcileUpload measures one reconciliation through HTTP of the
// largest exports the server takes: reconcile.MaxRows short rows, and
// rows padded with an ignored column to nearly reconcile.MaxBytes. B/op
// is what one reconciliation allocates, peak-heap-MB the most heap in use
// while it ran (sampled): each of the Limits.Reconciles running at once
// holds about that much.
func BenchmarkReconcileUpload(b *testing.B) {
	for _, bc := range []struct {
		name string
		pad  int // bytes of the ignored column
	}{
		{"rows", 0},
		{"50MiB", reconcile.MaxBytes/reconcile.MaxRows - 60},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("ma_ho_so,trang_thai,co_ket_qua,da_so_hoa,ngay_hen_tra,ghi_chu\n")
			pad := strings.Repeat("x", bc.pad)
			for i := range reconcile.MaxRows {
				fmt.Fprintf(&sb, "000.00.12.H57-251001-%06d,4,có,có,15/10/2025,%s\n", i, pad)
			}
			export := sb.String()
			if len(export) > reconcile.MaxBytes {
				b.Fatalf("the export is %d bytes, over the limit", len(export))
			}
			srv := newTestServer(New(Config{Store: codesStore{}}))
			defer srv.Close()
			b.SetBytes(int64(len(export)))
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				done := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					tick := time.NewTicker(5 * time.Millisecond)
					defer tick.Stop()
					for {
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						if m.HeapInuse > base.HeapInuse {
							peak = max(peak, m.HeapInuse-base.HeapInuse)
						}
						select {
						case <-done:
							return
						case <-tick.C:
						}
					}
				})
				resp, err := http.Post(srv.URL+"/api/v1/reconcile?format=csv&scope=none", "text/csv", strings.NewReader(export))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				close(done)
				wg.Wait()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("reconcile = %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		})
	}
}
