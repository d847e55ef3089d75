package chunker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// collect runs split and gathers the chunks, checking that fn is never
// entered concurrently.
func collect(t testing.TB, ra io.ReaderAt, off, size int64, p Params, workers int, seg int64) []Chunk {
	t.Helper()
	var out []Chunk
	var inside atomic.Int32
	err := split(context.Background(), ra, off, size, p, workers, seg, func(c Chunk) error {
		if inside.Add(1) != 1 {
			t.Error("fn entered concurrently")
		}
		defer inside.Add(-1)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("split(off %d, size %d, workers %d, seg %d): %v", off, size, workers, seg, err)
	}
	return out
}

// TestSplitMatchesSequential covers many range sizes (below one segment, at
// and around MinSize/MaxSize, odd), segment lengths from far below MinSize
// (every join needs a long bridge) to several MaxSize, and data that makes
// re-joining hard.
func TestSplitMatchesSequential(t *testing.T) {
	p := smallParams()
	const total = 3 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := map[string][]byte{
		"random":  randomBytes(10, total),
		"hostile": hostileBytes(11, total, p),
		"zeros":   make([]byte, total),
	}
	sizes := []int64{0, 1, 63, 64, int64(p.MinSize) - 1, int64(p.MinSize), int64(p.MinSize) + 1,
		int64(p.MaxSize), int64(p.MaxSize) + 1, 100_003, 1 << 20, total - 1}
	for range 6 {
		sizes = append(sizes, 1+rng.Int64N(total-1))
	}
	segs := []int64{1000, int64(p.MinSize) + 1, int64(p.MaxSize) - 1, 3*int64(p.MaxSize) + 7, 200_000}
	for name, data := range kinds {
		for _, size := range sizes {
			off := rng.Int64N(total - size + 1)
			want := sequential(t, data, off, size, p)
			for _, seg := range segs {
				if size/seg > 400 {
					continue // thousands of one-chunk segments add time, not coverage
				}
				for _, workers := range []int{2, 3} {
					t.Run(fmt.Sprintf("%s/size=%d/seg=%d/w=%d", name, size, seg, workers), func(t *testing.T) {
						sameChunks(t, collect(t, bytes.NewReader(data), off, size, p, workers, seg), want)
					})
				}
			}
		}
	}
}

// TestSplitDefaultParams runs the exported Split with repository defaults on
// 160 MiB (several segments, the last one short), on random data and
// on data whose zero runs and repeated blocks straddle the segment joins at
// odd offsets.
func TestSplitDefaultParams(t *testing.T) {
	p := defaultTestParams()
	size := int64(160<<20 + 4321)
	if testing.Short() {
		size = 96<<20 + 4321
	}
	random := randomBytes(20, int(size))
	hostile := append([]byte(nil), random...)
	seg := segmentSize(size, 2, p)
	for s := seg; s < size; s += seg {
		clear(hostile[s-3<<20-12345 : min(size, s+5<<20+777)]) // zero run across the join
		if s+9<<20+4099 > size {
			continue
		}
		pat := hostile[s+9<<20 : s+9<<20+4099] // repeated block after it
		for i := s + 9<<20 + 4099; i < min(size, s+30<<20); i++ {
			hostile[i] = pat[(i-s-9<<20)%4099]
		}
	}
	for name, data := range map[string][]byte{"random": random, "hostile": hostile} {
		t.Run(name, func(t *testing.T) {
			want := sequential(t, data, 0, size, p)
			var got []Chunk
			err := Split(context.Background(), bytes.NewReader(data), 0, size, p, 2, func(c Chunk) error {
				got = append(got, c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sameChunks(t, got, want)
		})
	}
}

// recordingReaderAt remembers the furthest byte read.
type recordingReaderAt struct {
	r   io.ReaderAt
	max atomic.Int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	for end := off + int64(n); ; {
		cur := r.max.Load()
		if end <= cur || r.max.CompareAndSwap(cur, end) {
			break
		}
	}
	return n, err
}

// TestSplitBoundedReadAhead checks the workers+1 segment bound: with a slow
// fn, workers must not read further ahead than the segments in flight.
func TestSplitBoundedReadAhead(t *testing.T) {
	p := smallParams()
	data := randomBytes(30, 24<<20)
	const workers, seg = 2, 256 << 10
	// Segment k (being consumed) plus workers more, each with its crossing
	// chunk, plus restic's 512 KiB read buffer.
	slack := int64(workers+1)*seg + int64(p.MaxSize) + 512<<10
	ra := &recordingReaderAt{r: bytes.NewReader(data)}
	var worst int64
	var n int
	err := split(context.Background(), ra, 0, int64(len(data)), p, workers, seg, func(c Chunk) error {
		if ahead := ra.max.Load() - c.Offset; ahead > worst {
			worst = ahead
		}
		if n++; n%64 == 0 {
			time.Sleep(time.Millisecond) // a slow consumer
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if worst > slack {
		t.Errorf("read %d bytes ahead of the consumer, bound %d", worst, slack)
	}
	if worst < seg {
		t.Errorf("read only %d bytes ahead: workers did not run ahead at all", worst)
	}
}

func TestSplitErrors(t *testing.T) {
	p := smallParams()
	data := randomBytes(40, 8<<20)
	ra := bytes.NewReader(data)
	size := int64(len(data))
	noop := func(Chunk) error { return nil }
	const seg = 64 << 10

	if err := Split(context.Background(), ra, 0, size, Params{}, 2, noop); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("invalid params: %v", err)
	}
	for _, r := range [][2]int64{{-1, 10}, {0, -1}, {1 << 62, 1 << 62}} {
		if err := Split(context.Background(), ra, r[0], r[1], p, 2, noop); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("range %v: %v, want ErrInvalidInput", r, err)
		}
	}
	for _, workers := range []int{1, 2} {
		if err := split(context.Background(), ra, 0, size+1, p, workers, seg, noop); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("workers %d, source one byte short: %v, want io.ErrUnexpectedEOF", workers, err)
		}
		boom := errors.New("boom")
		bad := errReaderAt{r: ra, failAt: size / 2, err: boom}
		if err := split(context.Background(), bad, 0, size, p, workers, seg, noop); !errors.Is(err, boom) {
			t.Errorf("workers %d, read error: %v, want boom", workers, err)
		}
		calls := 0
		err := split(context.Background(), ra, 0, size, p, workers, seg, func(Chunk) error {
			if calls++; calls == 100 {
				return boom
			}
			return nil
		})
		if err != boom || calls != 100 {
			t.Errorf("workers %d, fn error: got %v after %d calls, want boom unchanged after 100", workers, err, calls)
		}
		ctx, cancel := context.WithCancel(context.Background())
		calls = 0
		err = split(ctx, ra, 0, size, p, workers, seg, func(Chunk) error {
			if calls++; calls == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("workers %d, cancelled: %v", workers, err)
		}
	}
}

// TestSplitNoLeak checks that Split leaves no goroutine behind when it stops
// early.
func TestSplitNoLeak(t *testing.T) {
	p := smallParams()
	data := randomBytes(50, 8<<20)
	before := runtime.NumGoroutine()
	for i := range 20 {
		stop := errors.New("stop")
		err := split(context.Background(), bytes.NewReader(data), 0, int64(len(data)), p, 3, 64<<10,
			func(c Chunk) error {
				if c.Offset > int64(i)*100_000 {
					return stop
				}
				return nil
			})
		if err != stop {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind", n-before)
	}
}
