package restore

import (
	"bytes"
	"fmt"
	"golang.org/x/sys/unix"
	"os"

	"cairn/pack"
	"cairn/repo/tree"
)

// blockSize is the granularity at which all-zero data is left as a hole:
// the block size of common Linux file systems. Zero runs that do not cover
// an aligned block are written, since a partial block is allocated anyway.
const blockSize = 4096

// zeroBufSize is the size of the zero buffer NoSparse writes holes from.
const zeroBufSize = 64 << 10

// fileJob is one regular file for a worker to write (or verify).
type fileJob struct {
	node  *tree.Node
	dst   string
	group *linkGroup // set when other snapshot paths are hardlinks to it
}

// worker holds one worker's buffers, reused from task to task so that
// memory stays at about one pack range and one chunk per worker.
type worker struct {
	bufs pack.Buffers // pack range read and blob plaintext
	buf  []byte       // blob plaintext for Verify
	rbuf []byte       // file data read back by Verify
}

// finishFile completes a file whose content is written up to off (the
// file size on success, the start of the first chunk that failed
// otherwise): it truncates, applies the metadata, closes and counts it.
// A failed file is left cut at off, mode 0600, with the current mtime, so
// that it never looks complete (OverwriteIfChanged rewrites it next time),
// and its error names path and blob.
func (r *restorer) finishFile(f *os.File, job fileJob, off int64, err error) {
	ok := r.finishContent(f, job, off, err)
	if !ok && job.group != nil {
		job.group.failed = true
	}
	if ok {
		r.count(job.dst, 1, 0, int64(job.node.ContentSize()), 0)
	}
}

func (r *restorer) finishContent(f *os.File, job fileJob, off int64, err error) bool {
	if err == nil {
		// Truncating last gives the file its size when it ends in a hole.
		if err = f.Truncate(off); err != nil {
			err = fmt.Errorf("truncate to %d: %w", off, err)
		}
	} else {
		// Cut the file where the damage starts: its size then differs
		// from the snapshot's, so it neither looks complete nor is
		// skipped by OverwriteIfChanged next time.
		_ = f.Truncate(off)
	}
	if err != nil {
		f.Close()
		r.fail(job.dst, "write", err)
		return false
	}
	ok := r.applyMetadataFile(f, job)
	if err := f.Close(); err != nil {
		r.fail(job.dst, "close", err)
		return false
	}
	if !ok {
		return false
	}
	// Times are set after close through the path (without following a
	// symlink), as writes up to close could still touch the mtime.
	if !r.applyTimes(job.dst, job.node) {
		return false
	}
	if r.opts.Verify {
		r.mu.Lock()
		r.written = append(r.written, job)
		r.mu.Unlock()
	}
	return true
}

// writeData writes one chunk's plaintext at off, sparsely unless NoSparse.
// punch says the file was preallocated (see preallocate).
func (r *restorer) writeData(f *os.File, data []byte, off int64, punch bool) error {
	if r.opts.NoSparse {
		_, err := f.WriteAt(data, off)
		return err
	}
	return r.writeSparse(f, data, off, punch)
}

// writeSparse writes data at off, skipping every file-system block that
// data covers entirely with zeros. A file created empty reads back zeros
// there; in a preallocated one (punch) the skipped blocks are punched out.
func (r *restorer) writeSparse(f *os.File, data []byte, off int64, punch bool) error {
	run, zeros := -1, -1 // starts of the pending non-zero and zero runs
	for i := 0; i < len(data); {
		end := i + blockSize - int((off+int64(i))%blockSize)
		if end > len(data) {
			end = len(data)
		}
		whole := end-i == blockSize
		if whole && bytes.Equal(data[i:end], r.zero[:blockSize]) {
			if run >= 0 {
				if _, err := f.WriteAt(data[run:i], off+int64(run)); err != nil {
					return err
				}
				run = -1
			}
			if zeros < 0 {
				zeros = i
			}
		} else {
			if zeros >= 0 && punch {
				punchHole(f, off+int64(zeros), int64(i-zeros))
			}
			zeros = -1
			if run < 0 {
				run = i
			}
		}
		i = end
	}
	if zeros >= 0 && punch {
		punchHole(f, off+int64(zeros), int64(len(data)-zeros))
	}
	if run >= 0 {
		_, err := f.WriteAt(data[run:], off+int64(run))
		return err
	}
	return nil
}

// punchHole deallocates n bytes at off of a preallocated file; where that
// fails the blocks stay allocated, reading zeros all the same.
func punchHole(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.Fallocate(int(fd), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		})
	}
}

// writeZeros fills size bytes at off with zeros, for Options.NoSparse.
func (r *restorer) writeZeros(f *os.File, off, size int64) error {
	for size > 0 {
		n := int64(len(r.zero))
		if n > size {
			n = size
		}
		if _, err := f.WriteAt(r.zero[:n], off); err != nil {
			return err
		}
		off += n
		size -= n
	}
	return nil
}

// applyMetadataFile applies everything but the times through the open file.
func (r *restorer) applyMetadataFile(f *os.File, job fileJob) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		r.fail(job.dst, "metadata", err)
		return false
	}
	ok := false
	if err := rc.Control(func(fd uintptr) { ok = r.applyOwnerModeXattrs(job.dst, job.node, int(fd)) }); err != nil {
		r.fail(job.dst, "metadata", err)
		return false
	}
	return ok
}
