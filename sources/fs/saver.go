package fs

import (
	"context"
	"sync"

	"cairn/internal/crypto"
	"cairn/pack"
)

// saveJob is one chunk waiting for a saver.
type saveJob struct {
	data   []byte
	weight int64 // what it holds of the run's byte budget
	done   func(crypto.ID, error)
}

// queueSave hands data to the run's savers, which call done with its id
// once it is saved; it blocks while the chunks queued or being saved would
// exceed the byte budget. The readers thus never wait for their own
// file's saves, only for room.
func (r *run) queueSave(ctx context.Context, data []byte, done func(crypto.ID, error)) error {
	w := min(int64(len(data)), r.budget)
	if err := r.inflight.Acquire(ctx, w); err != nil {
		return err
	}
	select {
	case r.saveq <- saveJob{data: data, weight: w, done: done}:
		return nil
	case <-ctx.Done():
		r.inflight.Release(w)
		return ctx.Err()
	}
}

// startSavers starts the goroutines that hash, compress, encrypt and pack
// the queued chunks (Repo.SaveBlob), workers+1 of them so that the cores
// stay busy while one waits for the repository. The returned function
// closes the queue once no reader can add to it and waits for the savers
// to drain it; every queued chunk's done has been called by then.
func (r *run) startSavers(ctx context.Context) (stop func()) {
	var wg sync.WaitGroup
	for range r.workers + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range r.saveq {
				id, err := r.repo.SaveBlob(ctx, pack.DataBlob, j.data)
				r.inflight.Release(j.weight)
				if err == nil {
					r.c.bytesDone.Add(int64(len(j.data)))
				}
				j.done(id, err)
			}
		}()
	}
	return func() {
		close(r.saveq)
		wg.Wait()
	}
}
