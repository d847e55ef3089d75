package blockdev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Read modes recorded in ImageStats.Mode and in snapshot details.
const (
	ModeFull        = "full"
	ModeIncremental = "incremental"
)

// maxSplitWorkers caps the segments chunked at once on a full read: each
// holds up to 64 MiB, and more than four rarely helps a single disk.
const maxSplitWorkers = 4

// ImageOptions configure one SaveImage run.
type ImageOptions struct {
	// Chunker are the repository's chunking parameters.
	Chunker chunker.Params
	// Parent is the parent snapshot's chunk list of the same disk, or nil.
	Parent []tree.Chunk
	// Changed lists the regions that differ from Parent. With Incremental
	// set, every byte outside them must equal the parent's: they come from
	// CBT or from the caller, who vouches for them.
	Changed []chunker.Extent
	// Incremental asks for a re-sync against Parent using Changed; without
	// it (or without a parent) the whole image is chunked.
	Incremental bool
	// Workers bounds concurrent blob saves and, on a full read, the
	// segments chunked in parallel; 0 means runtime.NumCPU().
	Workers int
	// SplitWorkers, if set, bounds the segments chunked in parallel on a
	// full read instead of Workers. chunker.Split reads parallel segments
	// twice (to find boundaries, then when emitting chunks); 1 chunks
	// sequentially and reads every byte once, for a source where a read
	// costs network traffic (a remote disk, which then reads ahead itself).
	SplitWorkers int
	// Progress, if set, is called after each chunk with the bytes of the
	// image done so far (read or reused), from one goroutine.
	Progress func(done int64)
}

// ImageStats say what SaveImage did.
type ImageStats struct {
	// Mode is ModeFull or ModeIncremental.
	Mode string `json:"mode"`
	// Fallback says why an incremental was requested but a full read was
	// done instead; empty otherwise.
	Fallback string `json:"fallback,omitempty"`
	// Size is the image size in bytes.
	Size int64 `json:"size"`
	// Chunked counts the bytes that went through the chunker (read, or
	// zeros known without reading); the source counts real I/O itself.
	Chunked int64 `json:"chunked"`
	// Reused counts the bytes of parent chunks reused without reading.
	Reused int64 `json:"reused"`
	// ChunksReused, ChunksNew and ZeroChunks count chunks by origin.
	ChunksReused int64 `json:"chunks_reused"`
	ChunksNew    int64 `json:"chunks_new"`
	ZeroChunks   int64 `json:"zero_chunks"`
	// Duration is the wall time of SaveImage.
	Duration time.Duration `json:"duration_ns"`
}

// SaveImage chunks the image [0, size) of ra, saves its non-zero chunks
// with s and returns the chunk list. With opts.Incremental and a parent it
// re-syncs against the parent (chunker.Resync), reading only the changed
// regions plus a chunk or two around each; a parent list that is not an
// exact chunking with these params (for example one stored by the fs
// source, whose holes have arbitrary sizes) makes it fall back to a full
// read, said in ImageStats.Fallback.
//
// ra must be safe for concurrent ReadAt calls on a full read, which chunks
// segments in parallel.
func SaveImage(ctx context.Context, s Saver, ra io.ReaderAt, size int64, opts ImageOptions) ([]tree.Chunk, ImageStats, error) {
	start := time.Now()
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	st := ImageStats{Mode: ModeFull, Size: size}
	sv := newSaver(ctx, s, workers)
	var done int64
	progress := func(n int64) {
		done += n
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	add := func(c chunker.Chunk) error {
		st.Chunked += int64(len(c.Data))
		if isZero(c.Data) {
			st.ZeroChunks++
			sv.hole(int64(len(c.Data)))
		} else {
			st.ChunksNew++
			if err := sv.add(c.Data); err != nil {
				return err
			}
		}
		progress(int64(len(c.Data)))
		return nil
	}

	var err error
	incremental := opts.Incremental && opts.Parent != nil
	if incremental {
		old := oldChunks(opts.Parent)
		_, err = chunker.Resync(ctx, ra, size, old, opts.Changed, opts.Chunker,
			func(c chunker.Chunk, reuse *chunker.OldChunk) error {
				if reuse == nil {
					return add(c)
				}
				st.ChunksReused++
				st.Reused += reuse.Size
				sv.reuse(tree.Chunk{ID: crypto.ID(reuse.ID), Size: uint64(reuse.Size)})
				progress(reuse.Size)
				return nil
			})
		if errors.Is(err, chunker.ErrInvalidInput) && st.ChunksNew+st.ChunksReused+st.ZeroChunks == 0 {
			// Rejected before anything was emitted: the parent list is not
			// a chunking with these params. Read everything instead.
			st.Fallback = fmt.Sprintf("parent chunk list unusable for re-sync (%v)", err)
			incremental = false
			err = nil
		} else {
			st.Mode = ModeIncremental
		}
	}
	if !incremental && err == nil {
		splitWorkers := min(workers, maxSplitWorkers)
		if opts.SplitWorkers > 0 {
			splitWorkers = opts.SplitWorkers
		}
		err = chunker.Split(ctx, ra, 0, size, opts.Chunker, splitWorkers, add)
	}
	content, serr := sv.wait()
	st.Duration = time.Since(start)
	if serr != nil {
		return nil, st, serr // a repository failure outranks a read error
	}
	if err != nil {
		return nil, st, fmt.Errorf("chunk image: %w", err)
	}
	return content, st, nil
}

// oldChunks turns a parent content list into the re-sync's chunk list.
// Holes keep their null id, which is handed back untouched on reuse.
func oldChunks(content []tree.Chunk) []chunker.OldChunk {
	out := make([]chunker.OldChunk, len(content))
	var off int64
	for i, c := range content {
		out[i] = chunker.OldChunk{Offset: off, Size: int64(c.Size), ID: [32]byte(c.ID)}
		off += int64(c.Size)
	}
	return out
}

// zeroBlock is compared against in isZero; never written.
var zeroBlock [64 << 10]byte

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroBlock))
		if !bytes.Equal(b[:n], zeroBlock[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
