package chunker

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
)

// testPol is the irreducible degree-53 polynomial restic uses in its tests.
const testPol = 0x3DA3358B4DC173

// defaultTestParams are the repository defaults with a fixed polynomial.
func defaultTestParams() Params {
	return Params{Polynomial: testPol, MinSize: DefaultMinSize, AverageBits: DefaultAverageBits, MaxSize: DefaultMaxSize}
}

// smallParams scale chunks down (2 KiB min, ~6 KiB mean, 16 KiB max) so that
// tests cover thousands of boundaries and segment joins in little data.
func smallParams() Params {
	return Params{Polynomial: testPol, MinSize: 2 << 10, AverageBits: 12, MaxSize: 16 << 10}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	buf := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(buf) // ChaCha8.Read never fails
	return buf
}

// hostileBytes returns n deterministic bytes that are hard on re-sync: runs
// of zeros (which cut every MinSize bytes from wherever the chunker started,
// so chunkers started at different offsets never agree inside them) and
// repeated short blocks (which mostly cut at MaxSize), at odd offsets and
// lengths, separated by random stretches.
func hostileBytes(seed uint64, n int, p Params) []byte {
	buf := randomBytes(seed, n)
	rng := rand.New(rand.NewPCG(seed, 7))
	unit := int(p.MaxSize)
	for pos := rng.IntN(unit); pos < n; {
		runLen := min(n-pos, 1+rng.IntN(12*unit))
		switch rng.IntN(3) {
		case 0:
			clear(buf[pos : pos+runLen])
		case 1:
			period := 1 + rng.IntN(4096)
			for i := pos + period; i < pos+runLen; i++ {
				buf[i] = buf[i-period]
			}
		}
		pos += runLen + rng.IntN(4*unit)
	}
	return buf
}

// sequential chunks data[off:off+size] with a plain Chunker, the reference
// every other path must match.
func sequential(t testing.TB, data []byte, off, size int64, p Params) []Chunk {
	t.Helper()
	c := NewAt(bytes.NewReader(data[off:off+size]), off, p)
	var out []Chunk
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("sequential chunking: %v", err)
		}
		out = append(out, ch)
	}
}

// boundaries returns the chunk end offsets.
func boundaries(chunks []Chunk) []int64 {
	out := make([]int64, len(chunks))
	for i, c := range chunks {
		out[i] = c.End()
	}
	return out
}

// sameChunks fails t unless got and want have the same offsets and bytes.
func sameChunks(t testing.TB, got, want []Chunk) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d chunks, want %d (first ends: got %v, want %v)",
			len(got), len(want), head(boundaries(got)), head(boundaries(want)))
	}
	for i := range want {
		if got[i].Offset != want[i].Offset || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("chunk %d: got offset %d len %d, want offset %d len %d",
				i, got[i].Offset, len(got[i].Data), want[i].Offset, len(want[i].Data))
		}
	}
}

func head(b []int64) []int64 { return b[:min(len(b), 8)] }

// errReaderAt fails every read at or past failAt.
type errReaderAt struct {
	r      io.ReaderAt
	failAt int64
	err    error
}

func (e errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > e.failAt {
		return 0, e.err
	}
	return e.r.ReadAt(p, off)
}
