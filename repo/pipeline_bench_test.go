package repo

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"cairn/chunker"
	"cairn/pack"
	"cairn/repo/backend/mem"
)

// benchData is compressible source-like text (Go sources, repeated) or
// random bytes, 128 MiB.
func benchData(b *testing.B, kind string) []byte {
	b.Helper()
	const size = 128 << 20
	buf := make([]byte, 0, size)
	if kind == "random" {
		buf = buf[:size]
		rand.New(rand.NewSource(1)).Read(buf)
		return buf
	}
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "*.go"))
	for len(buf) < size {
		for _, f := range files {
			d, _ := os.ReadFile(f)
			buf = append(buf, d...)
			if len(buf) >= size {
				break
			}
		}
	}
	return buf[:size]
}

// BenchmarkPipeline measures the whole in-process backup pipeline on
// in-memory data: chunk (parallel Split) → keyed hash → dedup lookup →
// zstd → AES-GCM → pack → in-memory backend, with workers+1 savers fed by
// the chunker as the file archiver does. cpu% is process CPU time over
// wall time: with -cpu 1 and -cpu 2 (each in its own process) it shows how
// far the pipeline keeps a second core busy.
func BenchmarkPipeline(b *testing.B) {
	for _, kind := range []string{"source", "random"} {
		b.Run(kind, func(b *testing.B) {
			data := benchData(b, kind)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ctx := context.Background()
				r, err := Init(ctx, mem.New(), "pw", InitOptions{Options: Options{NoCache: true, KDF: KDFParams{Time: 1, Memory: 1024, Threads: 1}}})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				workers := runtime.GOMAXPROCS(0)
				jobs := make(chan []byte, workers)
				var wg sync.WaitGroup
				for w := 0; w < workers+1; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for c := range jobs {
							if _, err := r.SaveBlob(ctx, pack.DataBlob, c); err != nil {
								b.Error(err)
							}
						}
					}()
				}
				err = chunker.Split(ctx, bytes.NewReader(data), 0, int64(len(data)), r.ChunkerParams(), workers, func(c chunker.Chunk) error {
					jobs <- c.Data
					return nil
				})
				close(jobs)
				wg.Wait()
				if err == nil {
					err = r.Flush(ctx)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(100*(cpuTime()-cpu0).Seconds()/time.Since(start).Seconds(), "cpu%")
				b.StopTimer()
				r.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSaveBlob measures SaveBlob alone (hash, dedup lookup, compress,
// seal, pack) on 1 MiB blobs from GOMAXPROCS goroutines: run with -cpu 1,2
// to see how it scales.
func BenchmarkSaveBlob(b *testing.B) {
	for _, kind := range []string{"source", "random"} {
		b.Run(kind, func(b *testing.B) {
			data := benchData(b, kind)[:64<<20]
			ctx := context.Background()
			r, err := Init(ctx, mem.New(), "pw", InitOptions{Options: Options{NoCache: true, KDF: KDFParams{Time: 1, Memory: 1024, Threads: 1}}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			const blob = 1 << 20
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				workers := runtime.GOMAXPROCS(0)
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for off := w * blob; off < len(data); off += workers * blob {
							c := bytes.Clone(data[off : off+blob])
							c[0] = byte(i) // new content every round: no dedup
							c[1] = byte(i >> 8)
							if _, err := r.SaveBlob(ctx, pack.DataBlob, c); err != nil {
								b.Error(err)
							}
						}
					}()
				}
				wg.Wait()
			}
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
