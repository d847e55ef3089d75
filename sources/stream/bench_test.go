package stream

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"cairn/repo"
)

// BenchmarkStreamMemory streams pseudo-random data of several sizes
// through Backup into a local repository and reports the process's peak
// RSS for each size (peak-RSS-MiB; reset between sizes through
// /proc/self/clear_refs). Bounded memory means the figure does not grow
// with the stream size:
//
//	go test -run '^$' -bench StreamMemory -benchtime 1x ./sources/stream/
func BenchmarkStreamMemory(b *testing.B) {
	for _, size := range []int64{256 << 20, 2 << 30} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			r := testRepo(b)
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				resetPeakRSS(b)
				rd := io.LimitReader(rand.NewChaCha8([32]byte{byte(i)}), size)
				sn, err := Backup(context.Background(), Repository{r}, rd, Request{Kind: repo.KindStdin, Name: "big", Save: SaveOptions{Chunker: r.ChunkerParams()}})
				if err != nil {
					b.Fatal(err)
				}
				if sn.Summary.TotalBytes != size {
					b.Fatalf("stored %d bytes", sn.Summary.TotalBytes)
				}
			}
			b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
		})
	}
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}
