package chunker

import (
	"context"
	"fmt"
	"io"
)

// OldChunk is one chunk of the parent snapshot's chunk list. The list is
// contiguous from offset 0 and must have been produced with the same Params.
type OldChunk struct {
	Offset int64    // position in the parent image
	Size   int64    // length in bytes
	ID     [32]byte // blob id, passed back to fn untouched
}

// ResyncStats says how much of the new image Resync read and reused.
type ResyncStats struct {
	// BytesRead counts bytes actually read from the ReaderAt, including the
	// chunker's read-ahead (up to 512 KiB past where a read run stops).
	BytesRead int64
	// BytesReused is the total size of the reused parent chunks.
	BytesReused int64
	// ChunksReused counts fn calls with a non-nil reuse.
	ChunksReused int64
	// ChunksRead counts fn calls with freshly read data.
	ChunksRead int64
}

// Resync chunks the new image [0, size) of ra incrementally against old, the
// parent's chunk list, given the regions that changed since the parent
// (changed may be unsorted and overlapping, and may extend past size). fn is
// called for every chunk of the new image, in order, either with reuse
// pointing into old (a parent chunk that is unchanged and still cut at the
// same place: c.Offset is set, c.Data is nil, nothing was read) or with
// reuse nil and c holding freshly read data.
//
// The result is exactly the sequential chunking of the new image, provided
// old is the chunking of the parent with the same Params and every byte
// that differs from the parent lies in a changed extent (or past the
// parent's end). Reading starts at the last parent boundary at or before a
// change and stops at the first new boundary that coincides with a parent
// boundary beyond it, so an incremental reads about the changed bytes plus
// one or two chunks per changed region.
//
// The first error from fn is returned unchanged and stops the walk.
func Resync(ctx context.Context, ra io.ReaderAt, size int64, old []OldChunk, changed []Extent,
	p Params, fn func(c Chunk, reuse *OldChunk) error) (ResyncStats, error) {
	if err := p.check(); err != nil {
		return ResyncStats{}, err
	}
	if size < 0 {
		return ResyncStats{}, fmt.Errorf("%w: resync size %d", ErrInvalidInput, size)
	}
	oldEnd, err := checkOldChunks(old, p)
	if err != nil {
		return ResyncStats{}, err
	}
	dirty, err := normaliseExtents(changed, size)
	if err != nil {
		return ResyncStats{}, err
	}
	r := resyncer{ra: ra, size: size, old: old, oldEnd: oldEnd, dirty: dirty, c: newChunker(p), fn: fn}
	err = r.run(ctx)
	return r.stats, err
}

// checkOldChunks verifies that old is a plausible chunking with p (contiguous
// from 0, sizes within MinSize..MaxSize except the last, which may be
// shorter), catching a parent list from other Params before it silently
// spoils the result. It returns the parent's total size.
func checkOldChunks(old []OldChunk, p Params) (int64, error) {
	var end int64
	for i, c := range old {
		if c.Offset != end {
			return 0, fmt.Errorf("%w: parent chunk %d at offset %d, want %d", ErrInvalidInput, i, c.Offset, end)
		}
		tooSmall := c.Size < int64(p.MinSize) && i < len(old)-1
		if c.Size <= 0 || c.Size > int64(p.MaxSize) || tooSmall {
			return 0, fmt.Errorf("%w: parent chunk %d has size %d, outside %d..%d",
				ErrInvalidInput, i, c.Size, p.MinSize, p.MaxSize)
		}
		end += c.Size
	}
	return end, nil
}

// resyncer walks the new image. pos is always a boundary of the new image's
// sequential chunking and everything before it has been passed to fn.
type resyncer struct {
	ra     io.ReaderAt
	size   int64
	old    []OldChunk
	oldEnd int64
	dirty  []Extent // normalised
	di     int      // first dirty extent that may still overlap pos or later
	c      *Chunker
	fn     func(Chunk, *OldChunk) error
	pos    int64
	next   int // index of the first parent chunk starting at or after pos
	stats  ResyncStats
}

func (r *resyncer) run(ctx context.Context) error {
	for r.pos < r.size {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("chunker: resync: %w", err)
		}
		if !r.reusableHere() {
			if err := r.readRun(ctx); err != nil {
				return err
			}
			continue
		}
		oc := &r.old[r.next]
		if err := r.fn(Chunk{Offset: oc.Offset}, oc); err != nil {
			return err
		}
		r.pos += oc.Size
		r.next++
		r.stats.ChunksReused++
		r.stats.BytesReused += oc.Size
	}
	return nil
}

// reusableHere reports whether the parent chunk starting at pos, if any, is
// also the next chunk of the new image. A chunk's cut depends only on its
// own bytes and on where it starts, so it is reusable when it starts at a
// true boundary, none of its bytes changed and it still ends the same way:
// the parent's last chunk was cut by the end of the image, which only holds
// if the image still ends there.
func (r *resyncer) reusableHere() bool {
	if r.next >= len(r.old) || r.old[r.next].Offset != r.pos {
		return false
	}
	oc := r.old[r.next]
	end := oc.Offset + oc.Size
	if end > r.size || (end == r.oldEnd && r.oldEnd != r.size) {
		return false
	}
	for r.di < len(r.dirty) && r.dirty[r.di].Offset+r.dirty[r.di].Length <= oc.Offset {
		r.di++
	}
	return r.di == len(r.dirty) || r.dirty[r.di].Offset >= end
}

// readRun chunks forward from pos, reading, until a new boundary lands on
// the start of a reusable parent chunk or the image ends.
func (r *resyncer) readRun(ctx context.Context) error {
	r.c.reset(&rangeReader{ra: r.ra, off: r.pos, end: r.size, read: &r.stats.BytesRead}, r.pos)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("chunker: resync: %w", err)
		}
		ch, err := r.c.Next()
		if err == io.EOF {
			if r.pos != r.size {
				return fmt.Errorf("chunker: resync stopped at offset %d before %d: %w", r.pos, r.size, io.ErrUnexpectedEOF)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := r.fn(ch, nil); err != nil {
			return err
		}
		r.stats.ChunksRead++
		r.pos = ch.End()
		for r.next < len(r.old) && r.old[r.next].Offset < r.pos {
			r.next++
		}
		if r.pos == r.size || r.reusableHere() {
			return nil
		}
	}
}
