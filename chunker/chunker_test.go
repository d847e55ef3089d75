package chunker

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestChunkerMatchesRestic pins the wrapper to restic/chunker itself, so that
// a lost SetAverageBits or size mix-up cannot hide behind tests that only
// compare our own code paths with each other.
func TestChunkerMatchesRestic(t *testing.T) {
	for _, p := range []Params{smallParams(), defaultTestParams()} {
		data := randomBytes(1, 24<<20)
		got := sequential(t, data, 0, int64(len(data)), p)

		want := chunkEndsRestic(t, data, p)
		if len(want) < 3 {
			t.Fatalf("only %d chunks: test data too small", len(want))
		}
		if g := boundaries(got); !equalInt64(g, want) {
			t.Fatalf("params %+v: boundaries %v…, restic %v…", p, head(g), head(want))
		}
	}
}

func equalInt64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChunkerInvariants(t *testing.T) {
	p := smallParams()
	data := randomBytes(2, 8<<20)
	const base = 1 << 40
	chunks := sequential(t, append([]byte(nil), data...), 0, int64(len(data)), p)
	var rebuilt []byte
	var sum int
	for i, ch := range chunks {
		if want := int64(len(rebuilt)); ch.Offset != want {
			t.Fatalf("chunk %d at offset %d, want %d", i, ch.Offset, want)
		}
		n := uint(len(ch.Data))
		if n > p.MaxSize || (n < p.MinSize && i != len(chunks)-1) {
			t.Fatalf("chunk %d has size %d outside %d..%d", i, n, p.MinSize, p.MaxSize)
		}
		rebuilt = append(rebuilt, ch.Data...)
		sum += len(ch.Data)
	}
	if !bytes.Equal(rebuilt, data) {
		t.Fatal("chunks do not concatenate to the input")
	}
	// AverageBits must be in effect: chunks average about MinSize+2^bits
	// (less, as MaxSize truncates the tail of the distribution).
	mean := float64(sum) / float64(len(chunks))
	if want := float64(p.MinSize + 1<<p.AverageBits); mean < 0.8*want || mean > 1.1*want {
		t.Errorf("mean chunk size %.0f, want about %.0f", mean, want)
	}

	// Each chunk owns its Data: scribbling on one changes no other, and
	// later Next calls did not overwrite earlier chunks.
	clear(chunks[0].Data)
	if !bytes.Equal(chunks[1].Data, data[chunks[1].Offset:chunks[1].End()]) {
		t.Error("clearing chunk 0 changed chunk 1")
	}
	last := chunks[len(chunks)-1]
	if !bytes.Equal(last.Data, data[last.Offset:]) {
		t.Error("last chunk data differs from input")
	}

	shifted := sequential(t, append(make([]byte, base%1), data...), 0, int64(len(data)), p)
	c := NewAt(bytes.NewReader(data), base, p)
	for i := range shifted {
		ch, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ch.Offset != base+shifted[i].Offset {
			t.Fatalf("NewAt chunk %d at %d, want %d", i, ch.Offset, base+shifted[i].Offset)
		}
	}
}

func TestChunkerEdges(t *testing.T) {
	p := smallParams()
	c := New(bytes.NewReader(nil), p)
	for range 2 {
		if _, err := c.Next(); err != io.EOF {
			t.Fatalf("empty input: Next() = %v, want io.EOF every time", err)
		}
	}

	// Zeros hash to zero, which is always a cut: every chunk is MinSize.
	zeros := make([]byte, 10*int(p.MinSize)+5)
	chunks := sequential(t, zeros, 0, int64(len(zeros)), p)
	if len(chunks) != 11 || len(chunks[10].Data) != 5 {
		t.Fatalf("zeros: %d chunks, last %d bytes; want 11, 5", len(chunks), len(chunks[len(chunks)-1].Data))
	}

	// Fewer than MinSize bytes: one chunk, whatever the content.
	small := randomBytes(3, int(p.MinSize)-1)
	if got := sequential(t, small, 0, int64(len(small)), p); len(got) != 1 || !bytes.Equal(got[0].Data, small) {
		t.Fatalf("short input gave %d chunks", len(got))
	}

	// One-byte reads must not change the boundaries.
	data := randomBytes(4, 1<<20)
	want := sequential(t, data, 0, int64(len(data)), p)
	c = New(iotest.OneByteReader(bytes.NewReader(data)), p)
	for i := range want {
		ch, err := c.Next()
		if err != nil || ch.End() != want[i].End() {
			t.Fatalf("one-byte reader chunk %d: end %d err %v, want %d", i, ch.End(), err, want[i].End())
		}
	}
}

func TestChunkerErrors(t *testing.T) {
	bad := smallParams()
	bad.MinSize = 1
	if _, err := New(bytes.NewReader([]byte("x")), bad).Next(); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("invalid params: Next() = %v, want ErrInvalidParams", err)
	}

	var zero Chunker
	if _, err := zero.Next(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero Chunker: Next() = %v, want ErrInvalidInput", err)
	}

	boom := errors.New("boom")
	data := randomBytes(5, 3<<20)
	rd := io.MultiReader(bytes.NewReader(data[:1<<20]), iotest.ErrReader(boom))
	c := New(rd, smallParams())
	var err error
	for err == nil {
		_, err = c.Next()
	}
	if !errors.Is(err, boom) {
		t.Fatalf("reader error: got %v, want boom", err)
	}
	if _, err2 := c.Next(); !errors.Is(err2, boom) {
		t.Errorf("error not sticky: second Next() = %v", err2)
	}
	c.Reset(bytes.NewReader(data), 0)
	want := sequential(t, data, 0, int64(len(data)), smallParams())
	for i := range want {
		ch, err := c.Next()
		if err != nil || ch.End() != want[i].End() {
			t.Fatalf("after Reset, chunk %d: end %d err %v, want %d", i, ch.End(), err, want[i].End())
		}
	}
}
