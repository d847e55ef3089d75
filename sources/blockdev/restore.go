package blockdev

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// RestoreOptions configure RestoreImage.
type RestoreOptions struct {
	// Workers bounds concurrent blob loads; 0 means runtime.NumCPU().
	Workers int
	// Progress, if set, is called with bytes written so far, from several
	// goroutines (it must be safe for concurrent use).
	Progress func(n int64)
}

// RestoreStats say what RestoreImage wrote.
type RestoreStats struct {
	Size    int64 // image size
	Written int64 // bytes written (zeros skipped on a sparse target)
}

// RestoreImage writes the image content to dst from offset 0. On a
// regular file the file is truncated to the image size first and zero
// chunks are skipped, so it comes out sparse; on a block device (whose old
// content is unknown) zeros are written.
func RestoreImage(ctx context.Context, l Loader, content []tree.Chunk, dst *os.File, opts RestoreOptions) (RestoreStats, error) {
	fi, err := dst.Stat()
	if err != nil {
		return RestoreStats{}, err
	}
	var size int64
	for _, c := range content {
		size += int64(c.Size)
	}
	st := RestoreStats{Size: size}
	sparse := fi.Mode().IsRegular()
	if sparse {
		// Truncating to 0 first drops old data that a skipped hole would
		// otherwise leave behind.
		if err := dst.Truncate(0); err != nil {
			return st, fmt.Errorf("truncate %s: %w", dst.Name(), err)
		}
		if err := dst.Truncate(size); err != nil {
			return st, fmt.Errorf("truncate %s: %w", dst.Name(), err)
		}
	} else if devSize, err := dst.Seek(0, 2); err == nil && devSize < size {
		return st, fmt.Errorf("restore: %s holds %d bytes, the image needs %d", dst.Name(), devSize, size)
	}
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	fd := int(dst.Fd())
	written := make([]int64, len(content))
	var off int64
	for i, c := range content {
		pos := off
		off += int64(c.Size)
		if c.IsHole() && sparse {
			continue
		}
		if err := gctx.Err(); err != nil {
			break
		}
		g.Go(func() error {
			var data []byte
			if c.IsHole() {
				data = make([]byte, c.Size)
			} else {
				var err error
				if data, err = l.LoadBlob(gctx, pack.DataBlob, c.ID, nil); err != nil {
					return fmt.Errorf("restore chunk at %d: %w", pos, err)
				}
				if uint64(len(data)) != c.Size {
					return fmt.Errorf("restore chunk at %d: blob %s has %d bytes, want %d", pos, c.ID.Short(), len(data), c.Size)
				}
				if sparse && isZero(data) {
					return nil
				}
			}
			if err := pwriteAll(fd, data, pos); err != nil {
				return fmt.Errorf("write %s at %d: %w", dst.Name(), pos, err)
			}
			written[i] = int64(len(data))
			if opts.Progress != nil {
				opts.Progress(int64(len(data)))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	for _, n := range written {
		st.Written += n
	}
	if err := dst.Sync(); err != nil {
		return st, fmt.Errorf("sync %s: %w", dst.Name(), err)
	}
	return st, nil
}

func pwriteAll(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		n, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// RestoreFile writes the image node name (or the only file node when name
// is empty) of the tree root to the file or device at path, creating a
// regular file when it does not exist.
func RestoreFile(ctx context.Context, l Loader, root crypto.ID, name, path string, opts RestoreOptions) (RestoreStats, error) {
	t, err := l.LoadTree(ctx, root)
	if err != nil {
		return RestoreStats{}, err
	}
	n, err := findImage(t, name)
	if err != nil {
		return RestoreStats{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return RestoreStats{}, err
	}
	st, err := RestoreImage(ctx, l, n.Content, f, opts)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return st, err
}

// findImage returns the file node name, or the only file node.
func findImage(t *tree.Tree, name string) (*tree.Node, error) {
	if name != "" {
		if n := t.Find(name); n != nil && n.Type == tree.TypeFile {
			return n, nil
		}
		return nil, fmt.Errorf("snapshot has no image %q", name)
	}
	var found *tree.Node
	for _, n := range t.Nodes {
		if n.Type == tree.TypeFile {
			if found != nil {
				return nil, fmt.Errorf("snapshot holds several files: name one")
			}
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("snapshot holds no image")
	}
	return found, nil
}
