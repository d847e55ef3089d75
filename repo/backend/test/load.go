package test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"

	"cairn/repo/backend"
)

var errUnexpectedEOF = io.ErrUnexpectedEOF

// testPartialLoad reads many offset/length combinations, including length
// 0 (to the end) and offset == size (an empty read).
func testPartialLoad(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	const size = 64<<10 + 123
	data := randomData(r, size)
	h := backend.Handle{Type: backend.PackFile, Name: randomName(r)}
	save(t, be, h, data)
	offsets := []int64{0, 1, 7, 4095, 4096, size / 2, size - 4096, size - 1, size}
	for _, off := range offsets {
		rest := size - int(off)
		for _, l := range []int{0, 1, 13, 4096, rest} {
			if l > rest {
				continue
			}
			want := data[off:]
			if l > 0 {
				want = data[off : int(off)+l]
			}
			got, calls, err := load(ctx, be, h, l, off)
			if err != nil {
				t.Errorf("Load(length %d, offset %d): %v", l, off, err)
				continue
			}
			if calls == 0 {
				t.Errorf("Load(length %d, offset %d) never called fn", l, off)
			}
			equal(t, fmt.Sprintf("Load(length %d, offset %d)", l, off), got, want)
		}
	}
	// The exported helper agrees.
	got, err := backend.LoadRange(ctx, be, h, 1000, 2000)
	if err != nil {
		t.Fatalf("LoadRange: %v", err)
	}
	equal(t, "LoadRange", got, data[1000:3000])
}

// testLoadPastEnd checks that ranges beyond the end are short reads: the
// error wraps io.ErrUnexpectedEOF, whether the backend notices before
// calling fn or fn's reader reports it.
func testLoadPastEnd(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	const size = 10000
	h := backend.Handle{Type: backend.IndexFile, Name: randomName(r)}
	save(t, be, h, randomData(r, size))
	cases := []struct {
		length int
		offset int64
	}{
		{size + 1, 0},
		{11, size - 10},
		{1, size},
		{0, size + 1},
		{1, size + 1},
		{100, size + 1000},
	}
	for _, c := range cases {
		_, _, err := load(ctx, be, h, c.length, c.offset)
		mustBe(t, fmt.Sprintf("Load(length %d, offset %d) of %d bytes", c.length, c.offset, size), err, errUnexpectedEOF)
	}
	_, err := backend.LoadRange(ctx, be, h, size-5, 10)
	mustBe(t, "LoadRange past end", err, errUnexpectedEOF)
	for _, c := range []struct {
		length int
		offset int64
	}{{-1, 0}, {1, -1}} {
		_, calls, err := load(ctx, be, h, c.length, c.offset)
		if err == nil || calls != 0 {
			t.Errorf("Load(length %d, offset %d) = %v after %d calls; want an error before fn", c.length, c.offset, err, calls)
		}
	}
}

// testLoadCallback checks that fn's error comes back (errors.Is) and that
// fn may stop reading early without causing an error.
func testLoadCallback(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	h := backend.Handle{Type: backend.SnapshotFile, Name: randomName(r)}
	data := randomData(r, 256<<10)
	save(t, be, h, data)
	boom := backend.Permanent(errors.New("callback failed"))
	err := be.Load(ctx, h, 0, 0, func(rd io.Reader) error { return boom })
	mustBe(t, "Load with failing fn", err, boom)
	var first []byte
	err = be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		first = make([]byte, 10)
		_, err := io.ReadFull(rd, first)
		return err
	})
	if err != nil {
		t.Errorf("Load with fn reading 10 of %d bytes: %v", len(data), err)
	}
	equal(t, "first 10 bytes", first, data[:10])
}

// testLargeFile stores 20 MiB (several upload parts on object stores) and
// reads it whole and in ranges that cross 8 and 16 MiB.
func testLargeFile(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	const size = 20 << 20
	data := randomData(r, size)
	h := backend.Handle{Type: backend.PackFile, Name: randomName(r)}
	save(t, be, h, data)
	fi, err := be.Stat(ctx, h)
	if err != nil || fi.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", fi, err, size)
	}
	var sum [sha256.Size]byte
	err = be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		hash := sha256.New()
		if _, err := io.Copy(hash, rd); err != nil {
			return err
		}
		copy(sum[:], hash.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if sum != sha256.Sum256(data) {
		t.Error("20 MiB file read back with a different hash")
	}
	for _, c := range []struct {
		off int64
		l   int
	}{{8<<20 - 1000, 2000}, {16<<20 - 3, 1 << 20}, {size - 1<<20, 0}} {
		got, _, err := load(ctx, be, h, c.l, c.off)
		if err != nil {
			t.Fatalf("Load(length %d, offset %d): %v", c.l, c.off, err)
		}
		end := int(c.off) + c.l
		if c.l == 0 {
			end = size
		}
		equal(t, fmt.Sprintf("range at %d", c.off), got, data[c.off:end])
	}
}
