package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/internal/fdio"
	"cairn/repo/tree"
)

// fileContent sets n.Content: from the parent node when the file is
// unchanged, from another link to the same inode already read in this run,
// or by reading the file. It reports later=true when the file is being
// saved: the saves then complete the node and call entryDone(d) themselves,
// so that the worker can go on to the next file.
func (r *run) fileContent(ctx context.Context, n *tree.Node, p string, pn *tree.Node, d *dirState) (later bool, err error) {
	r.c.totalBytes.Add(int64(n.Size))
	same := unchanged(pn, n)
	r.countFile(pn, same)
	var slot *inodeResult
	if n.Links > 1 {
		var owner bool
		slot, owner = r.inodes.claim(inodeKey{n.DeviceID, n.Inode}, n.Links)
		if !owner {
			if content, ok := slot.wait(ctx, n.Size); ok {
				n.Content = content
				r.c.bytesDone.Add(int64(n.Size))
				return false, nil
			}
			if err := ctx.Err(); err != nil {
				return false, err
			}
			slot = nil // the first link failed: try this one on its own
		}
	}
	if same {
		n.Content = pn.Content
		r.c.bytesDone.Add(int64(n.Size))
		slot.publish(n.Content, n.Size, true)
		return false, nil
	}
	select {
	case r.files <- struct{}{}:
	case <-ctx.Done():
		slot.publish(nil, 0, false)
		return false, ctx.Err()
	}
	r.async.Add(1)
	cs := &contentSaver{r: r, ctx: ctx, done: func(content []tree.Chunk, err error) {
		defer r.async.Done()
		defer func() { <-r.files }()
		if err := r.finishFile(ctx, n, content, err, slot, d); err != nil {
			r.fail(err)
		}
	}}
	cs.pending.Store(1)
	cs.finish(r.readFile(ctx, p, n, pn, cs))
	return true, nil
}

// finishFile completes a file node once its content is saved, or failed
// to be, and marks the entry done in its directory. err is fatal when it
// is a *fatalError, otherwise it concerns only this file.
func (r *run) finishFile(ctx context.Context, n *tree.Node, content []tree.Chunk, err error, slot *inodeResult, d *dirState) error {
	if err != nil {
		slot.publish(nil, 0, false)
		var fe *fatalError
		if errors.As(err, &fe) {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		r.nodeErr(n, err)
	} else {
		n.Content = content
		slot.publish(content, n.Size, true)
	}
	return r.entryDone(ctx, d)
}

// readFile reads the regular file p, whose lstat data is in n, and hands
// its chunks to cs; it returns once the file is read, not saved. Holes are
// recorded, not read. An error is fatal when it is a *fatalError,
// otherwise it concerns only this file.
func (r *run) readFile(ctx context.Context, p string, n, pn *tree.Node, cs *contentSaver) error {
	if r.opts.hooks != nil && r.opts.hooks.beforeOpen != nil {
		r.opts.hooks.beforeOpen(p)
	}
	fd, err := openNoatime(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	// The fd is used directly (pread), not through an *os.File, which
	// would try to register a non-blocking fd with the poller.
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	if st.Ino != n.Inode || st.Dev != n.DeviceID || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &os.PathError{Op: "open", Path: p, Err: errors.New("replaced during backup")}
	}
	// A file that shrank since lstat would otherwise be recorded with a
	// hole where its end was (SEEK_DATA past EOF finds no data). One that
	// grew is read up to its lstat size, matching the recorded metadata.
	if uint64(st.Size) < n.Size {
		return shrunkError(p, n.Size, st.Size)
	}
	ra := &countingReaderAt{fd: fd, n: &r.c.bytesRead}
	size := int64(n.Size)
	var runs map[int64][]chunker.OldChunk
	if size >= resyncMinFile {
		runs = parentRuns(pn, r.opts.Chunker)
	}
	region := func(off, length int64, hole bool) error {
		if hole {
			cs.hole(length)
			r.c.bytesDone.Add(length)
			return nil
		}
		if old := runs[off]; old != nil {
			if done, err := r.resyncRegion(ctx, ra, off, length, old, cs); done || err != nil {
				return err
			}
		}
		return r.chunkRegion(ctx, ra, off, length, cs)
	}
	switch {
	case size == 0: // no chunks, as regions would give
	case maybeSparse(&st, size):
		err = regions(fd, size, region)
	default:
		err = region(0, size, false) // two lseeks per file less
	}
	if err != nil {
		return &os.PathError{Op: "read", Path: p, Err: err}
	}
	if size < int64(r.opts.Chunker.MinSize) {
		// Read with one full-length read, which fails on a file that
		// shrank meanwhile: no second fstat needed.
		return nil
	}
	return checkShrunk(fd, p, n.Size)
}

// shrunkError is the error for a file found shorter than its lstat size.
func shrunkError(p string, size uint64, now int64) error {
	return &os.PathError{Op: "read", Path: p,
		Err: fmt.Errorf("file shrank during backup from %d to %d bytes", size, now)}
}

// checkShrunk reports an error if the open file is now shorter than size.
func checkShrunk(fd int, p string, size uint64) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	if uint64(st.Size) < size {
		return shrunkError(p, size, st.Size)
	}
	return nil
}

// chunkRegion chunks the data region [off, off+length) into cs.
func (r *run) chunkRegion(ctx context.Context, ra *countingReaderAt, off, length int64, cs *contentSaver) error {
	p := r.opts.Chunker
	switch {
	case length < int64(p.MinSize):
		// Shorter than a chunk can be: the chunker would return it whole,
		// so skip its 512 KiB buffer.
		buf := make([]byte, length)
		if n, err := ra.ReadAt(buf, off); n < len(buf) {
			return fmt.Errorf("file shrank during backup (read %d of %d bytes at %d): %w", n, length, off, err)
		}
		return cs.add(buf)
	case length >= r.large && r.workers > 1:
		select {
		case r.largeSem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-r.largeSem }()
		// Split reads each chunk a second time (its segments keep
		// boundaries, not data): count the content once, as it is handed
		// over, rather than every read.
		return chunker.Split(ctx, &countingReaderAt{fd: ra.fd}, off, length, p, min(r.workers, maxSplitWorkers), func(c chunker.Chunk) error {
			r.c.bytesRead.Add(int64(len(c.Data)))
			return cs.add(c.Data)
		})
	default:
		c, _ := r.chunkers.Get().(*chunker.Chunker)
		if c == nil {
			c = chunker.New(nil, p)
		}
		defer r.chunkers.Put(c)
		c.Reset(io.NewSectionReader(ra, off, length), off)
		var got int64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			ch, err := c.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			got += int64(len(ch.Data))
			if err := cs.add(ch.Data); err != nil {
				return err
			}
		}
		if got != length {
			return fmt.Errorf("file shrank during backup (read %d of %d bytes at %d)", got, length, off)
		}
		return nil
	}
}

// contentSaver collects one file's chunk list while the chunks are saved
// by the run's savers. pending counts the saves in flight plus one held by
// the reader until it has handed over the last chunk; whoever brings it to
// zero calls done with the content, so no goroutine waits for the saves.
type contentSaver struct {
	r       *run
	ctx     context.Context
	chunks  []*tree.Chunk // in file order; IDs filled in by the savers
	pending atomic.Int64
	failed  atomic.Bool
	errMu   sync.Mutex
	saveErr error // the first save failure: fatal, outranks readErr
	readErr error
	done    func(content []tree.Chunk, err error)
}

// known appends a chunk already stored, under id: a parent's chunk that a
// changed file still holds, cut at the same place.
func (cs *contentSaver) known(id crypto.ID, size int64) {
	cs.chunks = append(cs.chunks, &tree.Chunk{ID: id, Size: uint64(size)})
	cs.r.c.bytesDone.Add(size)
}

// hole appends a hole of length bytes.
func (cs *contentSaver) hole(length int64) {
	cs.chunks = append(cs.chunks, &tree.Chunk{Size: uint64(length)})
}

// add queues data as the next chunk; it takes ownership of data. It blocks
// while the bytes queued or being saved over the whole run would exceed
// the run's budget.
func (cs *contentSaver) add(data []byte) error {
	if cs.failed.Load() {
		return &fatalError{errors.New("save blob failed")} // the real error is saveErr
	}
	c := &tree.Chunk{Size: uint64(len(data))}
	cs.chunks = append(cs.chunks, c)
	cs.pending.Add(1)
	if err := cs.r.queueSave(cs.ctx, data, func(id crypto.ID, err error) {
		if err != nil {
			cs.failed.Store(true)
			cs.errMu.Lock()
			if cs.saveErr == nil {
				cs.saveErr = &fatalError{fmt.Errorf("save data blob: %w", err)}
			}
			cs.errMu.Unlock()
		} else {
			c.ID = id
		}
		cs.release()
	}); err != nil {
		cs.pending.Add(-1) // cannot reach zero: the reader still holds one
		return err
	}
	return nil
}

// finish drops the reader's hold, recording how reading ended.
func (cs *contentSaver) finish(readErr error) {
	cs.errMu.Lock()
	cs.readErr = readErr
	cs.errMu.Unlock()
	cs.release()
}

// release ends one save or the reader's hold, completing the file after
// the last.
func (cs *contentSaver) release() {
	if cs.pending.Add(-1) > 0 {
		return
	}
	cs.errMu.Lock()
	err := cs.saveErr
	if err == nil {
		err = cs.readErr
	}
	cs.errMu.Unlock()
	if err != nil {
		cs.done(nil, err)
		return
	}
	out := make([]tree.Chunk, len(cs.chunks))
	for i, c := range cs.chunks {
		out[i] = *c
	}
	cs.chunks = nil
	cs.done(out, nil)
}

// countingReaderAt reads a file descriptor with pread and counts the
// bytes, so that BytesRead is what was actually read (chunker.Split's
// second reads of the same bytes aside). A nil n counts nothing.
type countingReaderAt struct {
	fd int
	n  *atomic.Int64
}

func (c *countingReaderAt) count(n int) {
	if c.n != nil {
		c.n.Add(int64(n))
	}
}

// ReadAt implements io.ReaderAt: it fills p unless the file ends first
// (io.EOF) or a read fails.
func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	done, err := fdio.ReadAt(c.fd, p, off)
	c.count(done)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("pread at %d: %w", off+int64(done), err)
	}
	return done, err
}

// inodeKey identifies an inode within the run.
type inodeKey struct{ dev, ino uint64 }

// inodeCache lets the links of a hardlinked inode share one read: the first
// link to arrive reads, the others wait for its content. An entry is
// dropped once all the inode's links have been seen.
type inodeCache struct {
	mu sync.Mutex
	m  map[inodeKey]*inodeResult
}

type inodeResult struct {
	done    chan struct{}
	content []tree.Chunk
	size    uint64
	ok      bool
	seen    uint64
}

// claim returns the inode's slot and whether the caller is its owner, who
// must publish.
func (c *inodeCache) claim(k inodeKey, links uint64) (*inodeResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := c.m[k]
	owner := res == nil
	if owner {
		res = &inodeResult{done: make(chan struct{})}
		c.m[k] = res
	}
	res.seen++
	if res.seen >= links {
		delete(c.m, k)
	}
	return res, owner
}

// publish hands the content to the waiting links; nil-safe for files
// with one link.
func (s *inodeResult) publish(content []tree.Chunk, size uint64, ok bool) {
	if s == nil {
		return
	}
	s.content, s.size, s.ok = content, size, ok
	close(s.done)
}

// wait returns the owner's content if it succeeded for the same size.
func (s *inodeResult) wait(ctx context.Context, size uint64) ([]tree.Chunk, bool) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, false
	}
	return s.content, s.ok && s.size == size
}
