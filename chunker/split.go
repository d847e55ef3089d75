package chunker

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
)

// segmentChunks is the target segment length in average chunks: the
// re-join costs one or two chunks of serial work per segment, so 32 keeps
// that near 5%. Segments hold boundaries, not data, so their size does not
// cost memory.
const segmentChunks = 32

// Split chunks [offset, offset+size) of ra with up to workers goroutines and
// calls fn for every chunk, in order, from the calling goroutine only. The
// chunks are exactly those a sequential Chunker would produce over the same
// range (NewAt(io.NewSectionReader(ra, offset, size), offset, p)).
//
// The range is cut into segments that are chunked concurrently; each
// segment's boundaries are trusted only from the first one that coincides
// with the true chunking coming from the previous segment (see
// docs/format-chunker.md). Workers keep only the boundaries they find; each
// chunk is read from ra a second time when it is emitted, so memory holds
// no segment data, only the chunk being handed to fn (and the bridge's).
// workers < 1 means runtime.GOMAXPROCS(0); with one worker, or a range of
// one segment, Split chunks sequentially.
//
// A source shorter than offset+size is an error wrapping
// io.ErrUnexpectedEOF. The first error from fn is returned unchanged and
// stops the split; cancelling ctx stops it with ctx's error.
func Split(ctx context.Context, ra io.ReaderAt, offset, size int64, p Params,
	workers int, fn func(Chunk) error) error {
	if err := p.check(); err != nil {
		return err
	}
	if offset < 0 || size < 0 || offset > math.MaxInt64-size {
		return fmt.Errorf("%w: split range offset %d size %d", ErrInvalidInput, offset, size)
	}
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	return split(ctx, ra, offset, size, p, workers, segmentSize(size, workers, p), fn)
}

// segmentSize picks segments of segmentChunks average chunks, smaller when
// that leaves workers idle, but never below 4*MaxSize so that the re-join
// (which reaches about two chunks into a segment) stays a small fraction.
func segmentSize(size int64, workers int, p Params) int64 {
	seg := int64(segmentChunks) << uint(p.AverageBits)
	if per := (size + int64(workers) - 1) / int64(workers); per < seg {
		seg = per
	}
	if floor := 4 * int64(p.MaxSize); seg < floor {
		seg = floor
	}
	return seg
}

// split is Split with the segment length chosen by the caller, so that
// tests can force many tiny segments.
func split(ctx context.Context, ra io.ReaderAt, offset, size int64, p Params,
	workers int, seg int64, fn func(Chunk) error) error {
	if size == 0 {
		return nil
	}
	if workers == 1 || size <= seg {
		return splitSequential(ctx, ra, offset, size, p, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	end := offset + size
	jobs := make(chan segmentJob)
	// pending holds the result slots of dispatched segments in order. Its
	// capacity, plus the one segment the joiner is consuming, is the
	// workers+1 bound on segments chunked ahead of the joiner.
	pending := make(chan chan segmentResult, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newChunker(p)
			for job := range jobs {
				job.out <- chunkSegment(ctx, c, ra, job.start, job.end, end)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(pending)
		for s := offset; s < end; {
			e := end
			if end-s > seg { // written so that s+seg cannot overflow
				e = s + seg
			}
			job := segmentJob{start: s, end: e, out: make(chan segmentResult, 1)}
			s = e
			select {
			case pending <- job.out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
	}()

	j := joiner{ra: ra, end: end, pos: offset, serial: newChunker(p), fn: fn}
	err := j.run(ctx, pending)
	cancel()
	wg.Wait()
	return err
}

// splitSequential is the single-goroutine path of Split.
func splitSequential(ctx context.Context, ra io.ReaderAt, offset, size int64, p Params,
	fn func(Chunk) error) error {
	c := newChunker(p)
	c.reset(&rangeReader{ra: ra, off: offset, end: offset + size}, offset)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("chunker: split: %w", err)
		}
		ch, err := c.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(ch); err != nil {
			return err
		}
	}
}
