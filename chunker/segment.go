package chunker

import (
	"context"
	"fmt"
	"io"
)

// segmentJob asks a worker to chunk one segment of a Split range.
type segmentJob struct {
	start, end int64 // the segment is [start, end)
	out        chan segmentResult
}

// segmentResult is the speculative chunking of one segment: a chunker
// started fresh at the segment start, as if a boundary were there. It
// holds boundaries only: the joiner reads each trusted chunk again when it
// emits it, so that segments waiting to be joined cost no memory for their
// data (a re-read from the page cache costs about what keeping a copy
// would).
type segmentResult struct {
	// bounds are absolute: bounds[0] is the segment start, bounds[i+1] the
	// end of the i-th chunk. The last bound is at or past the segment end
	// (the chunk crossing it is included) or at the end of the whole range.
	bounds []int64
	err    error
}

// chunkSegment chunks from start until the first boundary at or past end,
// reading no further than rangeEnd. c is reused across segments.
func chunkSegment(ctx context.Context, c *Chunker, ra io.ReaderAt, start, end, rangeEnd int64) segmentResult {
	c.reset(&rangeReader{ra: ra, off: start, end: rangeEnd}, start)
	res := segmentResult{bounds: []int64{start}}
	for {
		if err := ctx.Err(); err != nil {
			return segmentResult{err: fmt.Errorf("chunker: split: %w", err)}
		}
		off, n, err := c.nextBound()
		if err == io.EOF {
			return res
		}
		if err != nil {
			return segmentResult{err: err}
		}
		e := off + int64(n)
		res.bounds = append(res.bounds, e)
		if e >= end {
			return res
		}
	}
}
