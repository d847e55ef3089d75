package chunker

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// joiner splices speculative segment results into the exact sequential
// chunking. pos is always a true boundary: every chunk before it has been
// passed to fn, and a chunker started at pos is in the same state as the
// sequential one.
type joiner struct {
	ra     io.ReaderAt
	end    int64 // end of the whole range
	pos    int64
	serial *Chunker // bridges from pos to a segment's first trusted boundary
	fn     func(Chunk) error
}

// run consumes segment results in order until the range is done.
func (j *joiner) run(ctx context.Context, pending <-chan chan segmentResult) error {
	for out := range pending {
		var res segmentResult
		select {
		case res = <-out:
		case <-ctx.Done():
			return fmt.Errorf("chunker: split: %w", ctx.Err())
		}
		if res.err != nil {
			return res.err
		}
		if err := j.splice(ctx, res); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chunker: split: %w", err)
	}
	if j.pos != j.end {
		return fmt.Errorf("chunker: split ended at offset %d, want %d: %w", j.pos, j.end, io.ErrUnexpectedEOF)
	}
	return nil
}

// splice emits the chunks of res that belong to the true chunking. A
// boundary of res is trusted once it equals a true boundary: both chunkers
// are then in the same state (fresh at that offset) and see the same bytes,
// so all later boundaries agree too.
func (j *joiner) splice(ctx context.Context, res segmentResult) error {
	last := res.bounds[len(res.bounds)-1]
	if last <= j.pos {
		return nil // an earlier bridge already covered this segment
	}
	i, found := slices.BinarySearch(res.bounds, j.pos)
	if !found {
		var err error
		if i, found, err = j.bridge(ctx, res); err != nil || !found {
			return err
		}
	}
	for k := i; k+1 < len(res.bounds); k++ {
		ch, err := j.read(res.bounds[k], res.bounds[k+1])
		if err != nil {
			return err
		}
		if err := j.fn(ch); err != nil {
			return err
		}
	}
	j.pos = last
	return nil
}

// read returns the chunk [start, end) read from the source into a fresh
// buffer.
func (j *joiner) read(start, end int64) (Chunk, error) {
	data := make([]byte, end-start)
	if n, err := j.ra.ReadAt(data, start); n < len(data) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Chunk{}, fmt.Errorf("chunker: split: read chunk at offset %d: %w", start+int64(n), err)
	}
	return Chunk{Offset: start, Data: data}, nil
}

// bridge continues the true chunking from j.pos, emitting each chunk, until a
// boundary coincides with one of res.bounds (found, with its index) or
// passes the last of them (not found: the next segment has to be tried).
func (j *joiner) bridge(ctx context.Context, res segmentResult) (int, bool, error) {
	bounds := res.bounds
	last := bounds[len(bounds)-1]
	j.serial.reset(&rangeReader{ra: j.ra, off: j.pos, end: j.end}, j.pos)
	for {
		if err := ctx.Err(); err != nil {
			return 0, false, fmt.Errorf("chunker: split: %w", err)
		}
		ch, err := j.serial.Next()
		if err == io.EOF {
			// Only reachable if bounds extend past the range end.
			return 0, false, fmt.Errorf("chunker: split: bridge hit end at %d before %d", j.pos, last)
		}
		if err != nil {
			return 0, false, err
		}
		if err := j.fn(ch); err != nil {
			return 0, false, err
		}
		j.pos = ch.End()
		if i, found := slices.BinarySearch(bounds, j.pos); found {
			return i, true, nil
		}
		if j.pos > last {
			return 0, false, nil
		}
	}
}
