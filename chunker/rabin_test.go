package chunker

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	rc "github.com/restic/chunker"
)

// TestFindCutLanes checks the four-chain search against the one-chain
// search on the same ranges, with masks that put cuts in every quarter, at
// quarter edges and nowhere.
func TestFindCutLanes(t *testing.T) {
	data := hostileBytes(11, 1<<20, smallParams())
	copy(data[:256<<10], randomBytes(12, 256<<10))
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bits := range []int{1, 4, 9, 12, 13, 14, 15, 16, 18, 22} {
		p := Params{Polynomial: testPol, MinSize: 64, AverageBits: bits, MaxSize: 1 << 30}
		r := newRabin(p)
		for range 200 {
			from := 63 + rng.IntN(len(data)-63)
			to := from + rng.IntN(min(len(data)-from, 6*findLane)+1)
			want := r.find1(data, from, to)
			if from == to {
				want = -1
			}
			if got := r.findCut(data, from, to); got != want {
				t.Fatalf("bits %d, [%d, %d): findCut %d, find1 %d", bits, from, to, got, want)
			}
		}
	}
}

// chunkEndsRestic returns restic/chunker's chunk ends for data.
func chunkEndsRestic(t testing.TB, data []byte, p Params) []int64 {
	r := rc.NewWithBoundaries(bytes.NewReader(data), rc.Pol(p.Polynomial), p.MinSize, p.MaxSize)
	r.SetAverageBits(p.AverageBits)
	var ends []int64
	for {
		ch, err := r.Next(nil)
		if err == io.EOF {
			return ends
		}
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, int64(ch.Start+ch.Length))
	}
}

// chunkEnds returns the Chunker's chunk ends for rd, checking that the
// chunks' bytes are the input's.
func chunkEnds(t testing.TB, rd io.Reader, data []byte, p Params) []int64 {
	c := New(rd, p)
	var ends []int64
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return ends
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ch.Data, data[ch.Offset:ch.End()]) {
			t.Fatalf("chunk at %d: data differs from the input", ch.Offset)
		}
		ends = append(ends, ch.End())
	}
}

// matchParams are chunk size ranges that exercise both the one-chain and
// the four-chain search, MinSize at the window size, and MaxSize cuts.
var matchParams = []Params{
	{Polynomial: testPol, MinSize: 64, AverageBits: 10, MaxSize: 4 << 10},
	{Polynomial: testPol, MinSize: 2 << 10, AverageBits: 12, MaxSize: 16 << 10},
	{Polynomial: testPol, MinSize: 4 << 10, AverageBits: 15, MaxSize: 256 << 10},
	{Polynomial: testPol, MinSize: 16 << 10, AverageBits: 17, MaxSize: 160 << 10},
	{Polynomial: 0x2a4a1a3e4ebb35, MinSize: 8 << 10, AverageBits: 16, MaxSize: 1 << 20},
}

// TestChunkerMatchesResticHostile compares cuts with restic's on data with
// zero runs and repetitions, read whole and in odd pieces.
func TestChunkerMatchesResticHostile(t *testing.T) {
	for i, p := range matchParams {
		if err := p.check(); err != nil {
			t.Fatalf("params %d: %v", i, err)
		}
		data := hostileBytes(uint64(20+i), 6<<20, Params{MaxSize: 64 << 10})
		want := chunkEndsRestic(t, data, p)
		if len(want) < 20 {
			t.Fatalf("params %d: only %d chunks", i, len(want))
		}
		for _, rd := range []io.Reader{bytes.NewReader(data), iotest.HalfReader(bytes.NewReader(data)),
			io.LimitReader(iotest.DataErrReader(bytes.NewReader(data)), int64(len(data)))} {
			if got := chunkEnds(t, rd, data, p); !equalInt64(got, want) {
				t.Fatalf("params %d: ends %v…, restic %v…", i, head(got), head(want))
			}
		}
	}
}

// FuzzChunkerMatchesRestic compares cuts with restic's on fuzzed input,
// stretched by repetition so that chunks form, with fuzzed sizes.
func FuzzChunkerMatchesRestic(f *testing.F) {
	f.Add([]byte("hello"), uint8(0), uint16(300), uint16(7))
	f.Add(make([]byte, 100), uint8(1), uint16(5000), uint16(4096))
	f.Add(randomBytes(9, 2000), uint8(2), uint16(60000), uint16(65535))
	f.Add([]byte{0, 1, 2, 3, 0, 0, 0, 0}, uint8(3), uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, seed []byte, pi uint8, reps uint16, readSize uint16) {
		p := matchParams[int(pi)%len(matchParams)]
		if len(seed) == 0 {
			seed = []byte{0}
		}
		// Repeat the seed with a counter mixed in every 4 KiB, so that
		// inputs are long but not all periodic.
		var data []byte
		for i := 0; len(data) < int(reps)*16 && len(data) < 4<<20; i++ {
			data = append(data, seed...)
			if i%64 == 0 {
				data = binary.LittleEndian.AppendUint32(data, uint32(i))
			}
		}
		want := chunkEndsRestic(t, data, p)
		rd := &pieceReader{data: data, size: int(readSize) + 1}
		if got := chunkEnds(t, rd, data, p); !equalInt64(got, want) {
			t.Fatalf("params %+v, %d bytes: ends %v…, restic %v…", p, len(data), head(got), head(want))
		}
	})
}

// pieceReader returns at most size bytes per Read.
type pieceReader struct {
	data []byte
	size int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	return n, nil
}
