package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"cairn/chunker"
	"cairn/pack"
	"cairn/repo/tree"
)

// maxWorkers caps the default worker count: hashing and sealing one chunk
// takes a few milliseconds, so more workers than this only hold more chunks
// in memory without making a single stream faster.
const maxWorkers = 4

// SaveOptions configure Save.
type SaveOptions struct {
	// Chunker are the repository's chunking parameters.
	Chunker chunker.Params
	// Workers is the number of concurrent hashing/saving workers; 0 means
	// min(runtime.NumCPU(), 4). At most 2×Workers chunks are in memory.
	Workers int
	// Progress, if set, is called after every chunk is stored with the
	// bytes read so far; calls come from one goroutine at a time.
	Progress func(bytesRead int64)
}

// Result is what Save stored.
type Result struct {
	// Content is the stream's ordered chunk list.
	Content []tree.Chunk
	// Bytes is the stream's length.
	Bytes int64
	// BlobsNew and BytesNew count the chunks (and their plaintext bytes)
	// that were not in the repository before.
	BlobsNew, BytesNew int64
}

// job is one chunk on its way to a worker.
type job struct {
	i    int
	data []byte
}

// Save reads rd to the end, chunks it and stores every chunk as a data
// blob. It returns the chunk list only if rd ended with io.EOF and every
// chunk was stored; a read error (for a Command reader: the command's
// failure) is returned wrapped, and the chunks stored so far are left for
// a later run to reuse.
func Save(ctx context.Context, s Saver, rd io.Reader, opts SaveOptions) (Result, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = min(runtime.NumCPU(), maxWorkers)
	}
	// ctx stops the workers and the reader after a failure. The blobs
	// themselves are saved with the caller's ctx: the repository uploads
	// full packs in the background with it, after Save has returned.
	saveCtx := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		mu      sync.Mutex
		content []tree.Chunk
		res     Result
		wg      sync.WaitGroup
		done    atomic.Int64
	)
	// jobs is unbuffered beyond workers: together with the chunk each
	// worker holds, at most 2×workers chunks exist at once.
	jobs := make(chan job, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain: the run has failed
				}
				id := s.BlobID(j.data)
				isNew, err := s.SaveBlobWithID(saveCtx, pack.DataBlob, id, j.data)
				if err != nil {
					cancel(fmt.Errorf("save chunk %d: %w", j.i, err))
					continue
				}
				mu.Lock()
				content[j.i].ID = id
				if isNew {
					res.BlobsNew++
					res.BytesNew += int64(len(j.data))
				}
				mu.Unlock()
				n := done.Add(int64(len(j.data)))
				if opts.Progress != nil {
					mu.Lock()
					opts.Progress(n)
					mu.Unlock()
				}
			}
		}()
	}

	readErr := chunkInto(ctx, rd, opts.Chunker, func(data []byte) bool {
		mu.Lock()
		i := len(content)
		content = append(content, tree.Chunk{Size: uint64(len(data))})
		mu.Unlock()
		res.Bytes += int64(len(data))
		select {
		case jobs <- job{i: i, data: data}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(jobs)
	wg.Wait()
	// A repository failure outranks the read error it caused.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return Result{}, cause
	}
	if readErr != nil {
		return Result{}, readErr
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res.Content = content
	return res, nil
}

// chunkInto chunks rd and passes every chunk to emit until emit returns
// false or the input ends. It returns nil only at a clean end of input.
func chunkInto(ctx context.Context, rd io.Reader, p chunker.Params, emit func([]byte) bool) error {
	c := chunker.New(rd, p)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch, err := c.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var ee *ExitError
			if errors.As(err, &ee) {
				return ee // the command's failure says it all
			}
			return fmt.Errorf("read stream: %w", err)
		}
		if !emit(ch.Data) {
			return ctx.Err()
		}
	}
}
