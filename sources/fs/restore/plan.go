package restore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// PackLoader is implemented by Loaders that can tell where a blob is
// stored and load several blobs of one pack with a single read, as
// *repo.Repository does. Restore then reads file contents pack by pack
// (see docs/restore.md, "Order of operations"); with a plain Loader it
// loads blob by blob.
type PackLoader interface {
	// LookupBlob returns where a blob is stored.
	LookupBlob(id crypto.ID) (index.Entry, bool, error)
	// LoadBlobs reads blobs of one pack, sorted by offset, with one
	// ranged read and calls fn with each one's plaintext or error.
	LoadBlobs(ctx context.Context, blobs []index.Entry, bufs *pack.Buffers, fn func(e index.Entry, plaintext []byte, err error) error) error
}

// Limits of one batch of files planned together, and of one read.
const (
	// batchFiles bounds the files open at once.
	batchFiles = 256
	// batchChunks bounds the data chunks planned at once: the plan holds
	// a few dozen bytes per chunk.
	batchChunks = 16384
	// rangeMax bounds the bytes read with one request (and so each
	// worker's read buffer).
	rangeMax = 8 << 20
	// rangeGap is how many unneeded bytes are read to join two runs of
	// needed blobs into one request rather than two.
	rangeGap = 256 << 10
)

// blobByBlob adapts a plain Loader: every blob is its own "pack".
type blobByBlob struct{ l Loader }

func (b blobByBlob) LookupBlob(id crypto.ID) (index.Entry, bool, error) {
	return index.Entry{ID: id, Pack: id, Type: pack.DataBlob}, true, nil
}

func (b blobByBlob) LoadBlobs(ctx context.Context, blobs []index.Entry, bufs *pack.Buffers, fn func(index.Entry, []byte, error) error) error {
	for _, e := range blobs {
		data, err := b.l.LoadBlob(ctx, pack.DataBlob, e.ID, bufs.Plain)
		if err == nil {
			bufs.Plain = data[:0]
		}
		if err := fn(e, data, err); err != nil {
			return err
		}
	}
	return nil
}

// openFile is a file of the current batch whose content is being written.
type openFile struct {
	job     fileJob
	f       *os.File
	entries []index.Entry // per chunk; zero for holes
	limit   int           // chunks from limit on are not loaded (one failed)
	// preallocated: the file's blocks were reserved, so blocks of zeros
	// that writeSparse skips must be punched out to stay sparse.
	preallocated bool

	mu      sync.Mutex
	pending int // data chunks before limit not yet written
	failOff int64
	failErr error
}

// failed records that chunk i at off could not be written; the file is cut
// at the first such chunk.
func (of *openFile) failed(i int, off int64, err error) {
	if of.failErr == nil || off < of.failOff {
		of.failOff, of.failErr = off, fmt.Errorf("chunk %d at offset %d: %w", i, off, err)
	}
}

// chunkUse is one place a blob is written to.
type chunkUse struct {
	file *openFile
	idx  int
	off  int64
	size uint64
}

// batchBlob is a blob needed by the batch and everywhere it goes.
type batchBlob struct {
	e    index.Entry
	uses []chunkUse
}

// restoreFiles writes the regular files sent on jobs, batch by batch: a
// batch's files are created and their chunks looked up in parallel, then
// the needed blobs are grouped by pack and each pack's runs of needed
// blobs are read with one request each and written, by Workers goroutines,
// to every file and offset that uses them. The walk fills the next batch
// meanwhile (jobs holds one batch).
func (r *restorer) restoreFiles(ctx context.Context, jobs <-chan fileJob) {
	pl, ok := r.l.(PackLoader)
	if !ok {
		pl = blobByBlob{r.l}
	}
	tasks := make(chan func(*worker))
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{}
			for t := range tasks {
				t(w)
			}
		}()
	}
	var batch []fileJob
	chunks := 0
	flush := func() {
		if len(batch) > 0 && ctx.Err() == nil {
			r.restoreBatch(ctx, pl, tasks, batch)
		}
		batch, chunks = batch[:0], 0
	}
	for job := range jobs {
		batch = append(batch, job)
		chunks += len(job.node.Content)
		if len(batch) >= batchFiles || chunks >= batchChunks {
			flush()
		}
	}
	flush()
	close(tasks)
	wg.Wait()
}

// restoreBatch restores the files of one batch; it returns when all are
// finished.
func (r *restorer) restoreBatch(ctx context.Context, pl PackLoader, tasks chan<- func(*worker), batch []fileJob) {
	var wg sync.WaitGroup
	run := func(t func(*worker)) {
		wg.Add(1)
		tasks <- func(w *worker) { defer wg.Done(); t(w) }
	}
	// Files are created one directory per task: creating in a directory
	// takes its lock, and workers creating side by side in one directory
	// spin on that lock (27% of a restore's CPU in a perf profile).
	files := make([]*openFile, len(batch))
	byDir := map[string][]int{}
	var dirs []string
	for i, job := range batch {
		d := filepath.Dir(job.dst)
		if byDir[d] == nil {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], i)
	}
	for _, d := range dirs {
		idx := byDir[d]
		run(func(*worker) {
			for _, i := range idx {
				files[i] = r.openContent(ctx, pl, batch[i])
			}
		})
	}
	wg.Wait()

	// Group the needed blobs by pack, packs in order of first use.
	var packs []crypto.ID
	byPack := map[crypto.ID][]*batchBlob{}
	blobs := map[crypto.ID]*batchBlob{}
	for _, of := range files {
		if of == nil {
			continue
		}
		var off int64
		for i, c := range of.job.node.Content[:of.limit] {
			if !c.IsHole() {
				b := blobs[c.ID]
				if b == nil {
					b = &batchBlob{e: of.entries[i]}
					blobs[c.ID] = b
					if byPack[b.e.Pack] == nil {
						packs = append(packs, b.e.Pack)
					}
					byPack[b.e.Pack] = append(byPack[b.e.Pack], b)
				}
				b.uses = append(b.uses, chunkUse{file: of, idx: i, off: off, size: c.Size})
			}
			off += int64(c.Size)
		}
	}
	for _, p := range packs {
		bs := byPack[p]
		slices.SortFunc(bs, func(a, b *batchBlob) int { return cmp.Compare(a.e.Offset, b.e.Offset) })
		for len(bs) > 0 {
			n := packRun(bs)
			rn := bs[:n]
			run(func(w *worker) { r.writeRun(ctx, pl, w, rn) })
			bs = bs[n:]
		}
	}
	wg.Wait()
}

// packRun returns how many of bs (sorted by offset) to read with one
// request: blobs closer than rangeGap, up to rangeMax bytes.
func packRun(bs []*batchBlob) int {
	start := int64(bs[0].e.Offset)
	end := start + int64(bs[0].e.Length)
	n := 1
	for ; n < len(bs); n++ {
		e := bs[n].e
		next := int64(e.Offset) + int64(e.Length)
		if int64(e.Offset) > end+rangeGap || next-start > rangeMax {
			break
		}
		end = max(end, next)
	}
	return n
}

// writeRun loads one run of blobs and writes each wherever it is used.
func (r *restorer) writeRun(ctx context.Context, pl PackLoader, w *worker, run []*batchBlob) {
	entries := make([]index.Entry, len(run))
	uses := make(map[crypto.ID][]chunkUse, len(run))
	for i, b := range run {
		entries[i] = b.e
		uses[b.e.ID] = b.uses
	}
	delivered := 0
	err := pl.LoadBlobs(ctx, entries, &w.bufs, func(e index.Entry, data []byte, err error) error {
		delivered++
		for _, u := range uses[e.ID] {
			r.writeUse(u, data, err)
		}
		return nil
	})
	if err != nil {
		for _, b := range run[delivered:] {
			for _, u := range b.uses {
				r.writeUse(u, nil, err)
			}
		}
	}
}

// writeUse writes one chunk (or records why it cannot be) and finishes
// the file after its last chunk.
func (r *restorer) writeUse(u chunkUse, data []byte, err error) {
	of := u.file
	if err == nil && uint64(len(data)) != u.size {
		err = fmt.Errorf("blob has %d bytes, tree says %d", len(data), u.size)
	}
	if err == nil {
		err = r.writeData(of.f, data, u.off, of.preallocated)
	}
	of.mu.Lock()
	if err != nil {
		of.failed(u.idx, u.off, err)
	}
	of.pending--
	last := of.pending == 0
	of.mu.Unlock()
	if last {
		r.finishOpen(of)
	}
}

func (r *restorer) finishOpen(of *openFile) {
	if of.failErr != nil {
		r.finishFile(of.f, of.job, of.failOff, of.failErr)
		return
	}
	r.finishFile(of.f, of.job, int64(of.job.node.ContentSize()), nil)
}

// openContent creates job.dst exclusively (so that nothing that appeared
// at the path meanwhile is followed or clobbered), writes its holes when
// NoSparse and looks up where its chunks are stored. It returns nil when
// the file is already finished: prewritten, without data, or failed.
func (r *restorer) openContent(ctx context.Context, pl PackLoader, job fileJob) *openFile {
	if f, valid, err, ok := r.movePrewritten(job); ok {
		if f == nil {
			r.createFailed(job, err)
			return nil
		}
		r.finishFile(f, job, valid, err)
		return nil
	}
	f, err := os.OpenFile(job.dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		r.createFailed(job, err)
		return nil
	}
	of := &openFile{job: job, f: f, entries: make([]index.Entry, len(job.node.Content)), limit: len(job.node.Content),
		preallocated: !r.opts.NoSparse && preallocate(f, job.node.Content)}
	var off int64
	for i, c := range job.node.Content {
		if err := chunkError(ctx, c.Size, off); err != nil {
			of.failed(i, off, err)
		} else if c.IsHole() {
			if r.opts.NoSparse {
				if err := r.writeZeros(f, off, int64(c.Size)); err != nil {
					of.failed(i, off, err)
				}
			}
		} else if e, ok, err := pl.LookupBlob(c.ID); err != nil || !ok || e.Type != pack.DataBlob {
			switch {
			case err != nil:
			case !ok:
				err = fmt.Errorf("blob %s: %w", c.ID.Short(), ErrNotIndexed)
			default:
				err = fmt.Errorf("blob %s is stored as a %s blob, not data", c.ID.Short(), e.Type)
			}
			of.failed(i, off, err)
		} else {
			of.entries[i] = e
			of.pending++
		}
		if of.failErr != nil {
			of.limit = i
			break
		}
		off += int64(c.Size)
	}
	if of.pending == 0 {
		r.finishOpen(of)
		return nil
	}
	return of
}

// chunkError reports a cancelled ctx or a chunk that would overflow the
// file offset.
func chunkError(ctx context.Context, size uint64, off int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if size > math.MaxInt64-uint64(off) {
		return fmt.Errorf("size %d overflows the file offset", size)
	}
	return nil
}

func (r *restorer) createFailed(job fileJob, err error) {
	if job.group != nil {
		job.group.failed = true
	}
	r.fail(job.dst, "create", err)
}

// preallocMin is the smallest file whose blocks are reserved up front.
const preallocMin = 1 << 20

// preallocate reserves the blocks of a file without holes before its
// chunks arrive, so that the file system allocates it in one piece rather
// than wherever each worker's write lands (restic does the same), and
// reports whether it did. A file with holes is left to grow sparsely;
// blocks of zeros in a preallocated file are punched out again as they are
// skipped (writeSparse), so nothing is allocated that the source did not
// have; the file gets its full size at once (ext4 ignores a hole punched
// past the end of the file), and a restore cut short leaves it with the
// restore's mtime, never the snapshot's, so it is not taken as complete
// next time. Best effort: where fallocate fails (a file system without it, a
// full one) the writes proceed as without it and report what fails.
func preallocate(f *os.File, content []tree.Chunk) bool {
	var size int64
	for _, c := range content {
		if c.IsHole() {
			return false
		}
		size += int64(c.Size)
	}
	if size < preallocMin {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.Fallocate(int(fd), 0, 0, size) }); err != nil {
		return false
	}
	return ferr == nil
}
