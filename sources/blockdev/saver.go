package blockdev

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"cairn/pack"
	"cairn/repo/tree"
)

// saver collects an image's chunk list in order while blobs are saved
// concurrently. At most 2*workers saves are in flight, which bounds the
// chunk data held in memory.
type saver struct {
	ctx    context.Context
	s      Saver
	sem    chan struct{}
	wg     sync.WaitGroup
	chunks []*tree.Chunk // in image order; ids filled in by the savers
	mu     sync.Mutex
	err    error
	failed atomic.Bool
}

func newSaver(ctx context.Context, s Saver, workers int) *saver {
	return &saver{ctx: ctx, s: s, sem: make(chan struct{}, 2*workers)}
}

// hole appends a zero chunk of n bytes, stored as a hole.
func (sv *saver) hole(n int64) { sv.chunks = append(sv.chunks, &tree.Chunk{Size: uint64(n)}) }

// reuse appends a chunk of the parent.
func (sv *saver) reuse(c tree.Chunk) { sv.chunks = append(sv.chunks, &c) }

// add saves data as the next chunk; it takes ownership of data.
func (sv *saver) add(data []byte) error {
	if sv.failed.Load() {
		return fmt.Errorf("save blob failed") // the real error comes from wait
	}
	select {
	case sv.sem <- struct{}{}:
	case <-sv.ctx.Done():
		return sv.ctx.Err()
	}
	c := &tree.Chunk{Size: uint64(len(data))}
	sv.chunks = append(sv.chunks, c)
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		defer func() { <-sv.sem }()
		id, err := sv.s.SaveBlob(sv.ctx, pack.DataBlob, data)
		if err != nil {
			sv.mu.Lock()
			if sv.err == nil {
				sv.err = fmt.Errorf("save data blob: %w", err)
			}
			sv.mu.Unlock()
			sv.failed.Store(true)
			return
		}
		c.ID = id
	}()
	return nil
}

// wait returns the chunk list once every save has finished, or the first
// save error.
func (sv *saver) wait() ([]tree.Chunk, error) {
	sv.wg.Wait()
	if sv.err != nil {
		return nil, sv.err
	}
	out := make([]tree.Chunk, len(sv.chunks))
	for i, c := range sv.chunks {
		out[i] = *c
	}
	return out, nil
}
