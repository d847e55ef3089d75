package chunker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
)

const benchSize = 256 << 20

// BenchmarkSequential is the single-goroutine baseline: a Chunker over an
// in-memory reader, copying every chunk into its own buffer.
func BenchmarkSequential(b *testing.B) {
	p := defaultTestParams()
	data := randomBytes(100, benchSize)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		c := New(bytes.NewReader(data), p)
		for {
			_, err := c.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSplit measures Split's throughput and parallel speed-up.
func BenchmarkSplit(b *testing.B) {
	p := defaultTestParams()
	data := randomBytes(100, benchSize)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				err := Split(context.Background(), bytes.NewReader(data), 0, benchSize, p, workers,
					func(Chunk) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResync measures an incremental over a 256 MiB image with 1% of
// it changed in 8 regions; SetBytes is the image size, so MB/s is the
// effective rate at which the image is backed up.
func BenchmarkResync(b *testing.B) {
	p := defaultTestParams()
	data := randomBytes(100, benchSize)
	var old []OldChunk
	err := Split(context.Background(), bytes.NewReader(data), 0, benchSize, p, 2, func(c Chunk) error {
		old = append(old, OldChunk{Offset: c.Offset, Size: int64(len(c.Data))})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var changed []Extent
	for i := range int64(8) {
		off := i*benchSize/8 + 12345
		mutate(data, off, benchSize/800, uint64(i))
		changed = append(changed, Extent{off, benchSize / 800})
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	var read int64
	for b.Loop() {
		stats, err := Resync(context.Background(), bytes.NewReader(data), benchSize, old, changed, p,
			func(Chunk, *OldChunk) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		read = stats.BytesRead
	}
	b.ReportMetric(float64(read)/(1<<20), "MiB-read/op")
}
