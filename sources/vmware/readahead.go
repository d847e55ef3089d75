package vmware

import (
	"context"
	"io"
	"sync"
)

// readAheadBlock is the unit a readAhead fetches: one or a few Range
// requests (one per allocated span in it).
const readAheadBlock = 4 << 20

// readAhead serves the sequential reads of a full disk read (chunked in
// one stream, so that every byte crosses the network once) from blocks
// fetched ahead by up to depth concurrent requests: the network stays as
// busy as with parallel chunking, and memory holds at most depth+1 blocks.
// A read that is not where the previous one ended restarts the window
// there. Reads are served one at a time.
type readAhead struct {
	ctx   context.Context
	ra    io.ReaderAt
	size  int64
	block int64
	depth int

	mu     sync.Mutex
	window []*raBlock // consecutive blocks, the first one being read
	next   int64      // offset of the block after the window
}

// raBlock is one block being fetched or fetched.
type raBlock struct {
	off  int64
	data []byte
	err  error
	done chan struct{}
}

func newReadAhead(ctx context.Context, ra io.ReaderAt, size, block int64, depth int) *readAhead {
	return &readAhead{ctx: ctx, ra: ra, size: size, block: block, depth: max(depth, 1)}
}

// ReadAt implements io.ReaderAt.
func (r *readAhead) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return readAtSized(p, off, r.size, func(p []byte, off int64) (int, error) {
		for done := 0; done < len(p); {
			b, err := r.blockAt(off + int64(done))
			if err != nil {
				return done, err
			}
			done += copy(p[done:], b.data[off+int64(done)-b.off:])
		}
		return len(p), nil
	})
}

// blockAt returns the fetched block holding pos, moving the window there
// and keeping depth blocks in flight after it.
func (r *readAhead) blockAt(pos int64) (*raBlock, error) {
	for len(r.window) > 0 && r.window[0].off+r.block <= pos {
		r.window = r.window[1:]
	}
	if len(r.window) == 0 || r.window[0].off > pos {
		r.window = nil
		r.next = pos - pos%r.block
	}
	for len(r.window) <= r.depth && r.next < r.size {
		b := &raBlock{off: r.next, data: make([]byte, min(r.block, r.size-r.next)), done: make(chan struct{})}
		go func() {
			defer close(b.done)
			_, b.err = r.ra.ReadAt(b.data, b.off)
			if b.err == io.EOF {
				b.err = nil // a full block at the end of the disk
			}
		}()
		r.window = append(r.window, b)
		r.next += r.block
	}
	b := r.window[0]
	select {
	case <-b.done:
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
	if b.err != nil {
		r.window = nil // fetch again if asked again
		return nil, b.err
	}
	return b, nil
}
