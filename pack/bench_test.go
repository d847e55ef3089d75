package pack

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"cairn/internal/crypto"
)

// benchSize is the chunker's average chunk size.
const benchSize = 1 << 20

// benchInputs are the paths a chunk can take: real text (Go source from
// GOROOT, like the source trees and logs people back up), synthetic
// word salad (short matches only: zstd's slow case) and random bytes
// (stored as is, like already-compressed media).
func benchInputs(b *testing.B) []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"gosrc", goSource(b, benchSize)},
		{"words", textBytes(1, benchSize)},
		{"random", randomBytes(1, benchSize)},
	}
}

// goSource returns n bytes of Go source from GOROOT.
func goSource(b *testing.B, n int) []byte {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "http", "*.go"))
	if err != nil || len(files) == 0 {
		b.Skipf("no Go source in GOROOT: %v", err)
	}
	var buf []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if buf = append(buf, data...); len(buf) >= n {
			return buf[:n]
		}
	}
	b.Skipf("only %d bytes of Go source", len(buf))
	return nil
}

func BenchmarkCompress(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			var buf []byte
			b.SetBytes(int64(len(in.data)))
			var out int
			for b.Loop() {
				payload, ok := Compress(buf, in.data)
				if ok {
					buf = payload
				}
				out = len(payload)
			}
			b.ReportMetric(float64(out)/float64(len(in.data)), "ratio")
		})
	}
}

// BenchmarkCompressParallel shows that the shared encoder scales with CPUs.
func BenchmarkCompressParallel(b *testing.B) {
	data := goSource(b, benchSize)
	b.SetBytes(int64(len(data)))
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		for pb.Next() {
			buf, _ = Compress(buf, data)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	aead := KeyFor(testKey(1), Salt{1})
	data := randomBytes(1, benchSize)
	ad := make([]byte, headerAuthSize)
	buf := make([]byte, 0, benchSize+crypto.Overhead)
	b.SetBytes(benchSize)
	for b.Loop() {
		buf = aead.Seal(buf[:0], data, ad)
	}
}

func BenchmarkWriterAdd(b *testing.B) {
	master := testKey(1)
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			w, err := NewWriter(master)
			if err != nil {
				b.Fatal(err)
			}
			id := crypto.ID{}
			for i := 0; b.Loop(); i++ {
				if w.Count() == 16 { // a 16 MiB pack: start the next one
					if w, err = NewWriter(master); err != nil {
						b.Fatal(err)
					}
				}
				id[0], id[1] = byte(i), byte(i>>8) // ids must differ within a pack
				if err := w.Add(DataBlob, id, in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFinalize(b *testing.B) {
	master := testKey(1)
	data := randomBytes(1, benchSize)
	b.SetBytes(16 * benchSize)
	for b.Loop() {
		b.StopTimer()
		w, err := NewWriter(master)
		if err != nil {
			b.Fatal(err)
		}
		for i := range 16 {
			payload := data
			if err := w.AddPayload(DataBlob, crypto.ID{byte(i)}, payload, false, len(payload)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, _, _, _, err := w.Finalize(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBlob(b *testing.B) {
	master := testKey(1)
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			p := buildPack(b, master, []blobSpec{{DataBlob, in.data}})
			blob := p.blobs[0]
			raw := p.data[blob.Offset : blob.Offset+blob.Length]
			aead := KeyFor(master, p.salt)
			dst := make([]byte, 0, len(in.data))
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				var err error
				if dst, err = DecodeBlob(master, aead, raw, blob, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkList(b *testing.B) {
	master := testKey(1)
	var specs []blobSpec
	for i := range 200 { // a tree pack: many small blobs
		specs = append(specs, blobSpec{TreeBlob, textBytes(uint64(i), 2000)})
	}
	p := buildPack(b, master, specs)
	for b.Loop() {
		if _, _, err := List(master, bytes.NewReader(p.data), int64(len(p.data))); err != nil {
			b.Fatal(err)
		}
	}
}
