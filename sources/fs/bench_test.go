package fs

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cairn/chunker"
)

// defaultTestParams are the repository defaults (512 KiB/1 MiB/8 MiB).
func defaultTestParams() chunker.Params {
	return chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
}

// BenchmarkBackupTree backs up $CAIRN_BENCH_DIR (default GOROOT/src) with
// default chunk sizes, then again with the first as parent, with one
// worker and with one per CPU ($CAIRN_BENCH_WORKERS overrides the latter):
// full-MB/s against workers is the pipeline's scaling, and cpu% (process
// CPU time over wall time) says whether the cores were kept busy.
func BenchmarkBackupTree(b *testing.B) {
	dir := os.Getenv("CAIRN_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(runtime.GOROOT(), "src")
	}
	many, _ := strconv.Atoi(os.Getenv("CAIRN_BENCH_WORKERS"))
	if many < 1 {
		many = runtime.NumCPU()
	}
	for _, workers := range []int{1, many} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := newMemRepo()
				r.discardData = true
				opts := Options{Chunker: defaultTestParams(), Workers: workers}
				start, cpu0 := time.Now(), cpuTime()
				first, err := Backup(context.Background(), r, []string{dir}, opts)
				if err != nil {
					b.Fatal(err)
				}
				full, fullCPU := time.Since(start), cpuTime()-cpu0
				opts.ParentRoot = &first.Root
				start, cpu0 = time.Now(), cpuTime()
				second, err := Backup(context.Background(), r, []string{dir}, opts)
				if err != nil {
					b.Fatal(err)
				}
				incr, incrCPU := time.Since(start), cpuTime()-cpu0
				s := first.Stats
				b.ReportMetric(float64(s.BytesRead)/full.Seconds()/1e6, "full-MB/s")
				b.ReportMetric(100*fullCPU.Seconds()/full.Seconds(), "full-cpu%")
				b.ReportMetric(float64(incr.Milliseconds()), "unchanged-ms")
				b.Logf("%s: %d files, %d MB: full %v wall, %v CPU; unchanged incremental %v wall, %v CPU, read %d bytes; peak RSS %d MiB",
					dir, s.TotalFiles, s.TotalBytes>>20, full.Round(time.Millisecond), fullCPU.Round(time.Millisecond),
					incr.Round(time.Millisecond), incrCPU.Round(time.Millisecond), second.Stats.BytesRead, peakRSS()>>20)
			}
		})
	}
}

// BenchmarkLargeFile backs up one file of random data (default 1 GiB,
// $CAIRN_BENCH_MB MiB) through chunker.Split.
func BenchmarkLargeFile(b *testing.B) {
	mb := 1024
	if s := os.Getenv("CAIRN_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	p := filepath.Join(b.TempDir(), "large")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(4))
	buf := make([]byte, 1<<20)
	for i := 0; i < mb; i++ {
		rng.Read(buf)
		f.Write(buf)
	}
	f.Close()
	b.SetBytes(int64(mb) << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := newMemRepo()
		r.discardData = true
		start, cpu0 := time.Now(), cpuTime()
		res, err := Backup(context.Background(), r, []string{p}, Options{Chunker: defaultTestParams()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*(cpuTime()-cpu0).Seconds()/time.Since(start).Seconds(), "cpu%")
		b.ReportMetric(float64(res.Stats.BytesRead)/float64(int64(mb)<<20), "read/size")
	}
	b.ReportMetric(float64(peakRSS()>>20), "peakRSS-MiB")
}

// cpuTime returns the process's user plus system CPU time: on a shared
// machine it says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set size from /proc.
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
