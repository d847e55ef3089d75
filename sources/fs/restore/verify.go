package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"cairn/pack"
)

// verifyAll re-reads every file written by this restore, in parallel, and
// compares it chunk by chunk with the snapshot's content. It runs after
// hardlinks and directory metadata, so it checks what is finally on disk.
func (r *restorer) verifyAll(ctx context.Context) {
	jobs := make(chan fileJob)
	var wg sync.WaitGroup
	for i := 0; i < r.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{}
			for job := range jobs {
				if err := r.verifyFile(ctx, w, job); err != nil && ctx.Err() == nil {
					r.fail(job.dst, "verify", err)
				}
			}
		}()
	}
	for _, job := range r.written {
		if ctx.Err() != nil {
			break
		}
		jobs <- job
	}
	close(jobs)
	wg.Wait()
}

// verifyFile compares the file at job.dst with the node's content; a
// difference is an error wrapping ErrVerify.
func (r *restorer) verifyFile(ctx context.Context, w *worker, job fileJob) error {
	f, err := openNoATime(job.dst)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if want := job.node.ContentSize(); uint64(fi.Size()) != want {
		return fmt.Errorf("%w: size %d, snapshot has %d", ErrVerify, fi.Size(), want)
	}
	if cap(w.rbuf) < zeroBufSize {
		w.rbuf = make([]byte, zeroBufSize)
	}
	var off int64
	for i, c := range job.node.Content {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := r.zero
		if !c.IsHole() {
			data, err := r.l.LoadBlob(ctx, pack.DataBlob, c.ID, w.buf)
			if err != nil {
				return fmt.Errorf("chunk %d at offset %d: %w", i, off, err)
			}
			w.buf = data[:0]
			if uint64(len(data)) != c.Size {
				return fmt.Errorf("chunk %d at offset %d: blob %s has %d bytes, tree says %d", i, off, c.ID.Short(), len(data), c.Size)
			}
			want = data
		}
		if err := compareAt(f, w.rbuf, off, int64(c.Size), want, c.IsHole()); err != nil {
			return fmt.Errorf("chunk %d at offset %d: %w", i, off, err)
		}
		off += int64(c.Size)
	}
	return nil
}

// compareAt reads size bytes at off and compares them with want, or with
// zeros (want then being a zero buffer, reused for every piece) for a hole.
func compareAt(f *os.File, rbuf []byte, off, size int64, want []byte, hole bool) error {
	for done := int64(0); done < size; {
		n := min(int64(len(rbuf)), size-done)
		got := rbuf[:n]
		if _, err := f.ReadAt(got, off+done); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: file ends early", ErrVerify)
			}
			return err
		}
		exp := want[:n]
		if !hole {
			exp = want[done : done+n]
		}
		if !bytes.Equal(got, exp) {
			return fmt.Errorf("%w: content differs near offset %d", ErrVerify, off+done)
		}
		done += n
	}
	return nil
}

// openNoATime opens path for reading without following a symlink and, where
// permitted, without updating the atime the restore has just set.
func openNoATime(path string) (*os.File, error) {
	flags := os.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	f, err := os.OpenFile(path, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		f, err = os.OpenFile(path, flags, 0)
	}
	return f, err
}
