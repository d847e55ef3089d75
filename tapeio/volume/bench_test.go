package volume

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
)

// benchFiles is a pack-shaped payload: 4 packs of 16 MiB (the repository's
// default pack size), incompressible.
func benchFiles() []testFile {
	var fs []testFile
	for i := 0; i < 4; i++ {
		fs = append(fs, testFile{KindPack, fmt.Sprintf("data/%02x/pack%d", i, i), randomBytes(uint64(i), 16<<20)})
	}
	return fs
}

func payloadBytes(files []testFile) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f.data))
	}
	return n
}

func benchWriteOnce(b testing.TB, s *tapeSet, files []testFile, blockSize int) Summary {
	ctx := context.Background()
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: blockSize})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if _, err := w.WriteFile(ctx, f.kind, f.name, bytesReader(f.data)); err != nil {
			b.Fatal(err)
		}
	}
	sum, err := w.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return sum
}

func BenchmarkWrite(b *testing.B) {
	files := benchFiles()
	payload := payloadBytes(files)
	b.SetBytes(payload)
	var sum Summary
	var tape int64
	for i := 0; i < b.N; i++ {
		s := newTapeSet(b, 0, 0)
		sum = benchWriteOnce(b, s, files, DefaultBlockSize)
		b.StopTimer()
		tape = s.tapeBytes(b)
		os.RemoveAll(s.dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(sum.TapeBytes)/float64(payload), "blocks/payload")
	b.ReportMetric(float64(tape)/float64(payload), "vtape/payload")
}

func BenchmarkRead(b *testing.B) {
	files := benchFiles()
	payload := payloadBytes(files)
	s := newTapeSet(b, 0, 0)
	benchWriteOnce(b, s, files, DefaultBlockSize)
	b.SetBytes(payload)
	b.ResetTimer()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		r, err := NewSetReader(SetReaderOptions{OpenVolume: s.open})
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			f, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.Copy(io.Discard, f)
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		r.Close()
		if n != payload {
			b.Fatalf("read %d bytes, want %d", n, payload)
		}
	}
}

// TestFormatOverhead records the overhead for the two shapes of content an
// export has: pack files, and the small metadata files around them.
func TestFormatOverhead(t *testing.T) {
	for _, tc := range []struct {
		name      string
		files     []testFile
		blockSize int
		max       float64
	}{
		// Exactly 16 MiB needs 65 blocks (the headers take 64 B of each),
		// and label plus end-of-set take 2 more: the worst case for packs.
		{"16MiB packs, 256KiB blocks", benchFiles(), DefaultBlockSize, 1.03},
		{"export-like mix, 64KiB blocks", exportLike(), testBlock, 1.10},
	} {
		s := newTapeSet(t, 0, 0)
		sum := benchWriteOnce(t, s, tc.files, tc.blockSize)
		p := float64(payloadBytes(tc.files))
		blocks, vtape := float64(sum.TapeBytes)/p, float64(s.tapeBytes(t))/p
		t.Logf("%s: %d files, %.0f payload bytes: blocks/payload %.4f, vtape file/payload %.4f", tc.name, len(tc.files), p, blocks, vtape)
		if blocks > tc.max {
			t.Errorf("%s: overhead %.4f above %.2f", tc.name, blocks, tc.max)
		}
	}
}
