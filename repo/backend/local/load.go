package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"cairn/internal/fdio"
	"cairn/repo/backend"
)

// Load opens h and calls fn with a reader of length bytes from offset
// (length 0: to the end). A range past the end of the file is reported as
// io.ErrUnexpectedEOF before fn is called.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("local: load: %w", err)
	}
	if length < 0 || offset < 0 {
		return backend.Permanent(fmt.Errorf("local: load %v: negative length %d or offset %d", h, length, offset))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: load %v: %w", h, err)
	}
	// A raw descriptor, not an *os.File: os.Open tries to register every
	// file with the poller (four fcntl and a failing epoll_ctl), which was
	// more than half of the system calls of loading a parent's trees.
	path := b.Path(h)
	fd, err := openRetry(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: load %v: %w", h, backend.ErrNotExist)
	} else if err != nil {
		return fmt.Errorf("local: load %v: %w", h, classify(&fs.PathError{Op: "open", Path: path, Err: err}))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("local: load %v: %w", h, &fs.PathError{Op: "fstat", Path: path, Err: err})
	}
	size := st.Size
	f := fdReaderAt{fd: fd, path: path}
	n := int64(length)
	if length == 0 {
		n = size - offset
	}
	if offset > size || offset+n > size {
		// A local file does not grow by retrying: mark it permanent.
		return backend.Permanent(fmt.Errorf("local: load %v: %d bytes at offset %d of a %d-byte file: %w",
			h, n, offset, size, io.ErrUnexpectedEOF))
	}
	if err := fn(backend.ContextReader(ctx, io.NewSectionReader(f, offset, n))); err != nil {
		return fmt.Errorf("local: load %v: %w", h, err)
	}
	return nil
}

// Stat returns h's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("local: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return backend.FileInfo{}, fmt.Errorf("local: stat %v: %w", h, err)
	}
	fi, err := os.Stat(b.Path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return backend.FileInfo{}, fmt.Errorf("local: stat %v: %w", h, backend.ErrNotExist)
	} else if err != nil {
		return backend.FileInfo{}, fmt.Errorf("local: stat %v: %w", h, classify(err))
	}
	return backend.FileInfo{Name: infoName(h), Size: fi.Size()}, nil
}

// infoName is the Name reported for h: "config" for the config file.
func infoName(h backend.Handle) string {
	if h.Type == backend.ConfigFile {
		return string(backend.ConfigFile)
	}
	return h.Name
}

// Remove deletes h. The directory is not fsynced: a removal undone by a
// crash leaves a file that prune or unlock removes again, never a loss.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("local: remove: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: remove %v: %w", h, err)
	}
	err := os.Remove(b.Path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: remove %v: %w", h, backend.ErrNotExist)
	} else if err != nil {
		return fmt.Errorf("local: remove %v: %w", h, classify(err))
	}
	return nil
}

// List calls fn once for every file of type t, skipping temporary files.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := (backend.Handle{Type: t, Name: "xx"}).Valid(); err != nil {
		return fmt.Errorf("local: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: list %s: %w", t, err)
	}
	switch t {
	case backend.ConfigFile:
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if backend.IsNotExist(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("local: list %s: %w", t, err)
		}
		return fn(fi)
	case backend.PackFile:
		top := filepath.Join(b.dir, string(t))
		subs, err := os.ReadDir(top)
		if err != nil {
			return fmt.Errorf("local: list %s: %w", t, classify(err))
		}
		for _, sub := range subs {
			if !sub.IsDir() || strings.HasPrefix(sub.Name(), ".") {
				continue
			}
			if err := listDir(ctx, filepath.Join(top, sub.Name()), fn); err != nil {
				return fmt.Errorf("local: list %s: %w", t, err)
			}
		}
		return nil
	default:
		if err := listDir(ctx, filepath.Join(b.dir, string(t)), fn); err != nil {
			return fmt.Errorf("local: list %s: %w", t, err)
		}
		return nil
	}
}

// listDir calls fn for each regular, non-temporary file in dir. A file
// removed between reading the directory and stating it is skipped: it was
// not there for the whole listing, so the contract does not require it.
func listDir(ctx context.Context, dir string, fn func(backend.FileInfo) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return classify(err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if err := fn(backend.FileInfo{Name: e.Name(), Size: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// openRetry opens path read-only, retrying on EINTR.
func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// fdReaderAt reads a raw descriptor with pread.
type fdReaderAt struct {
	fd   int
	path string
}

// ReadAt implements io.ReaderAt: it fills p unless the file ends first
// (io.EOF) or a read fails.
func (f fdReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := fdio.ReadAt(f.fd, p, off)
	if err != nil && err != io.EOF {
		err = &fs.PathError{Op: "read", Path: f.path, Err: err}
	}
	return n, err
}
