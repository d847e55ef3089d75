package chunker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// parentList turns a chunking into the OldChunk list a snapshot would store.
func parentList(chunks []Chunk) []OldChunk {
	out := make([]OldChunk, len(chunks))
	for i, c := range chunks {
		out[i] = OldChunk{Offset: c.Offset, Size: int64(len(c.Data)), ID: sha256.Sum256(c.Data)}
	}
	return out
}

// checkResync runs Resync of image against old and fails t unless the calls
// equal a full sequential chunking of image: same offsets and sizes, fresh
// chunks with the right bytes, reused chunks whose parent id is the hash of
// the new bytes at that place (so reusing them was right).
func checkResync(t testing.TB, image []byte, old []OldChunk, changed []Extent, p Params) ResyncStats {
	t.Helper()
	want := sequential(t, image, 0, int64(len(image)), p)
	i := 0
	var reusedBytes int64
	stats, err := Resync(context.Background(), bytes.NewReader(image), int64(len(image)), old, changed, p,
		func(c Chunk, reuse *OldChunk) error {
			if i >= len(want) {
				t.Fatalf("call %d at offset %d: past the %d chunks of a full chunking", i, c.Offset, len(want))
			}
			w := want[i]
			i++
			if c.Offset != w.Offset {
				t.Fatalf("chunk %d at offset %d, want %d", i-1, c.Offset, w.Offset)
			}
			if reuse == nil {
				if !bytes.Equal(c.Data, w.Data) {
					t.Fatalf("chunk %d at %d: read %d bytes, want %d", i-1, c.Offset, len(c.Data), len(w.Data))
				}
				return nil
			}
			if c.Data != nil || reuse.Offset != c.Offset || reuse.Size != int64(len(w.Data)) ||
				reuse.ID != sha256.Sum256(w.Data) {
				t.Fatalf("chunk %d at %d: reused parent chunk %d+%d, want %d new bytes with that id",
					i-1, c.Offset, reuse.Offset, reuse.Size, len(w.Data))
			}
			reusedBytes += reuse.Size
			return nil
		})
	if err != nil {
		t.Fatalf("Resync: %v", err)
	}
	if i != len(want) {
		t.Fatalf("Resync made %d calls, full chunking has %d chunks", i, len(want))
	}
	if stats.ChunksRead+stats.ChunksReused != int64(len(want)) || stats.BytesReused != reusedBytes {
		t.Fatalf("stats %+v disagree with %d chunks, %d bytes reused", stats, len(want), reusedBytes)
	}
	return stats
}

// mutate changes every byte of [off, off+n) of image.
func mutate(image []byte, off, n int64, seed uint64) {
	for i, b := range randomBytes(seed, int(n)) {
		image[off+int64(i)] ^= b | 1
	}
}

// TestResyncLargeImage is the disk case with repository defaults: a 256 MiB
// image, a handful of changed extents from one byte to 17 MiB, reported
// unsorted, overlapping and with one false positive (CBT may over-report).
func TestResyncLargeImage(t *testing.T) {
	p := defaultTestParams()
	size := int64(256 << 20)
	if testing.Short() {
		size = 96 << 20
	}
	parent := randomBytes(60, int(size))
	var old []OldChunk
	err := Split(context.Background(), bytes.NewReader(parent), 0, size, p, 2, func(c Chunk) error {
		old = append(old, OldChunk{Offset: c.Offset, Size: int64(len(c.Data)), ID: sha256.Sum256(c.Data)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	image := parent // the parent is not needed any more
	rng := rand.New(rand.NewPCG(61, 62))
	var changed []Extent
	for i, n := range []int64{1, 100, 64 << 10, 3 << 20, 17 << 20} {
		off := rng.Int64N(size - n)
		mutate(image, off, n, uint64(i))
		changed = append(changed, Extent{off, n})
		if i == 2 { // the same change reported again, shifted and overlapping
			changed = append(changed, Extent{off + n/2, n})
		}
	}
	changed = append(changed, Extent{rng.Int64N(size - 4096), 4096}) // reported, not changed
	rng.Shuffle(len(changed), func(i, j int) { changed[i], changed[j] = changed[j], changed[i] })

	stats := checkResync(t, image, old, changed, p)
	regions, _ := normaliseExtents(changed, size)
	var changedBytes int64
	for _, e := range regions {
		changedBytes += e.Length
	}
	overhead := stats.BytesRead - changedBytes
	t.Logf("changed %d bytes in %d regions; read %d (%+.2f MiB per region), reused %d of %d chunks",
		changedBytes, len(regions), stats.BytesRead, float64(overhead)/float64(len(regions))/(1<<20),
		stats.ChunksReused, stats.ChunksReused+stats.ChunksRead)
	if bound := changedBytes + int64(len(regions))*4*int64(p.MaxSize); stats.BytesRead > bound {
		t.Errorf("read %d bytes, bound %d", stats.BytesRead, bound)
	}
	if stats.BytesRead < changedBytes {
		t.Errorf("read %d bytes, fewer than the %d changed", stats.BytesRead, changedBytes)
	}
}

// TestResyncResize covers images that grew or shrank: the parent's last
// chunk was cut by the end of the image, so it must not be reused when the
// end moved, while every content-defined boundary before still holds.
func TestResyncResize(t *testing.T) {
	p := smallParams()
	parent := randomBytes(70, 4<<20)
	parentChunks := sequential(t, parent, 0, int64(len(parent)), p)
	old := parentList(parentChunks)
	boundary := parentChunks[len(parentChunks)/2].Offset
	cases := map[string]struct {
		image   []byte
		changed []Extent
	}{
		"unchanged":         {parent, nil},
		"grow by one":       {append(append([]byte(nil), parent...), 7), nil},
		"grow by 3 MiB":     {append(append([]byte(nil), parent...), randomBytes(71, 3<<20)...), nil},
		"shrink odd":        {parent[:len(parent)-12345], nil},
		"shrink to a bound": {parent[:boundary], nil},
		"shrink to 100":     {parent[:100], nil},
		"shrink to 0":       {nil, nil},
		"grow and change":   {append(append([]byte(nil), parent[:1<<20]...), randomBytes(72, 5<<20)...), []Extent{{1 << 20, 1 << 40}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			stats := checkResync(t, tc.image, old, tc.changed, p)
			if name == "unchanged" && (stats.BytesRead != 0 || stats.ChunksRead != 0) {
				t.Errorf("nothing changed, yet read %d bytes", stats.BytesRead)
			}
			if name == "shrink to a bound" && stats.BytesRead != 0 {
				t.Errorf("shrunk to a parent boundary, yet read %d bytes", stats.BytesRead)
			}
		})
	}
	t.Run("no parent", func(t *testing.T) {
		if stats := checkResync(t, parent, nil, nil, p); stats.ChunksReused != 0 || stats.BytesRead != int64(len(parent)) {
			t.Errorf("stats %+v, want every byte read once", stats)
		}
	})
}

// TestResyncRandomized compares Resync with full chunking over many small
// images, random and hostile (zero runs, repeats), with random changes,
// sloppy extent lists and size changes.
func TestResyncRandomized(t *testing.T) {
	p := smallParams()
	rng := rand.New(rand.NewPCG(80, 81))
	for trial := range 150 {
		n := 64<<10 + rng.IntN(2<<20)
		random := trial%2 == 0
		parent := randomBytes(uint64(trial), n)
		if !random {
			parent = hostileBytes(uint64(trial), n, p)
		}
		old := parentList(sequential(t, parent, 0, int64(n), p))
		image := append([]byte(nil), parent...)
		switch rng.IntN(5) {
		case 0:
			image = append(image, randomBytes(uint64(trial)+1000, rng.IntN(200<<10))...)
		case 1:
			image = image[:rng.IntN(n)]
		}
		size := int64(len(image))
		var changed []Extent
		for range rng.IntN(6) {
			if size == 0 {
				break
			}
			off := rng.Int64N(size)
			l := min(size-off, 1+rng.Int64N(40<<10))
			if rng.IntN(3) == 0 {
				clear(image[off : off+l])
			} else {
				mutate(image, off, l, rng.Uint64())
			}
			switch rng.IntN(3) {
			case 0: // reported generously
				changed = append(changed, Extent{max(0, off-1000), l + 5000})
			case 1: // reported in overlapping pieces
				changed = append(changed, Extent{off + l/2, l - l/2}, Extent{off, l/2 + 1})
			default:
				changed = append(changed, Extent{off, l})
			}
		}
		if rng.IntN(4) == 0 {
			changed = append(changed, Extent{rng.Int64N(size + 1), 0}, Extent{size + 5, 10})
		}
		stats := checkResync(t, image, old, changed, p)
		if !random {
			continue // zero runs may keep chunkers apart for as long as they last
		}
		regions, _ := normaliseExtents(changed, size)
		var bound int64
		for _, e := range regions {
			bound += e.Length + 4*int64(p.MaxSize) + 512<<10 // restic's read buffer
		}
		if oldEnd := int64(n); size > oldEnd {
			bound += size - oldEnd + 4*int64(p.MaxSize) + 512<<10
		} else if size < oldEnd {
			bound += int64(p.MaxSize) // the new last chunk, cut by the new end
		}
		if stats.BytesRead > bound {
			t.Errorf("trial %d: read %d bytes, bound %d", trial, stats.BytesRead, bound)
		}
	}
}

func TestResyncErrors(t *testing.T) {
	p := smallParams()
	data := randomBytes(90, 2<<20)
	old := parentList(sequential(t, data, 0, int64(len(data)), p))
	ra := bytes.NewReader(data)
	size := int64(len(data))
	noop := func(Chunk, *OldChunk) error { return nil }
	run := func(ctx context.Context, ra io.ReaderAt, size int64, old []OldChunk, changed []Extent, p Params,
		fn func(Chunk, *OldChunk) error) error {
		_, err := Resync(ctx, ra, size, old, changed, p, fn)
		return err
	}
	bg := context.Background()
	all := []Extent{{0, size}}

	if err := run(bg, ra, size, old, nil, Params{}, noop); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("invalid params: %v", err)
	}
	edit := func(f func([]OldChunk) []OldChunk) []OldChunk { return f(append([]OldChunk(nil), old...)) }
	badInput := map[string]error{
		"negative size":   run(bg, ra, -1, old, nil, p, noop),
		"negative extent": run(bg, ra, size, old, []Extent{{-1, 5}}, p, noop),
		"negative length": run(bg, ra, size, old, []Extent{{1, -5}}, p, noop),
		"not from zero":   run(bg, ra, size, old[1:], nil, p, noop),
		"gap":             run(bg, ra, size, edit(func(o []OldChunk) []OldChunk { return append(o[:2], o[3:]...) }), nil, p, noop),
		"too large":       run(bg, ra, size, edit(func(o []OldChunk) []OldChunk { o[len(o)-1].Size = 1 << 30; return o }), nil, p, noop),
		"too small":       run(bg, ra, size, edit(func(o []OldChunk) []OldChunk { o[0].Size = 1; return o }), nil, p, noop),
	}
	for name, err := range badInput {
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	if err := run(bg, ra, size+1, old, nil, p, noop); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("source one byte short: %v, want io.ErrUnexpectedEOF", err)
	}
	boom := errors.New("boom")
	if err := run(bg, errReaderAt{r: ra, failAt: size / 2, err: boom}, size, old, all, p, noop); !errors.Is(err, boom) {
		t.Errorf("read error: %v, want boom", err)
	}
	calls := 0
	err := run(bg, ra, size, old, []Extent{{size / 2, 1}}, p, func(Chunk, *OldChunk) error {
		if calls++; calls == 50 {
			return boom
		}
		return nil
	})
	if err != boom || calls != 50 {
		t.Errorf("fn error: %v after %d calls, want boom unchanged after 50", err, calls)
	}
	ctx, cancel := context.WithCancel(bg)
	calls = 0
	err = run(ctx, ra, size, old, all, p, func(Chunk, *OldChunk) error {
		if calls++; calls == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 5 {
		t.Errorf("cancelled: %v after %d calls", err, calls)
	}
}

func TestNormaliseExtents(t *testing.T) {
	const max64 = int64(^uint64(0) >> 1)
	got, err := normaliseExtents([]Extent{
		{100, 10}, {0, 5}, {5, 5}, // touching: merged
		{105, 20}, {300, 0}, // overlapping; empty dropped
		{990, 50}, {2000, 1}, // clipped to size; past size dropped
		{500, max64}, // would overflow
		{200, 1},
	}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []Extent{{0, 10}, {100, 25}, {200, 1}, {500, 500}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
