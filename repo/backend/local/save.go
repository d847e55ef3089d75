package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"cairn/repo/backend"
)

// writeChunk is how much Save writes between checks of ctx.
const writeChunk = 4 << 20

// Save writes data to a temporary file in the destination directory, fsyncs
// it, renames it over h's path and fsyncs the directory. On any failure the
// temporary file is removed and h is left as it was.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("local: save: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: save %v: %w", h, err)
	}
	final := b.Path(h)
	dir := filepath.Dir(final)
	f, err := createTemp(dir, h)
	if err != nil {
		return fmt.Errorf("local: save %v: %w", h, classify(err))
	}
	tmp := f.Name()
	if err := writeSync(ctx, f, data); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("local: save %v: %w", h, classify(err))
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("local: save %v: %w", h, classify(err))
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("local: save %v: %w", h, classify(err))
	}
	if err := syncDir(dir); err != nil {
		// The file is in place but its directory entry may not be durable;
		// report it, since the caller may already trust the file.
		return fmt.Errorf("local: save %v: %w", h, classify(err))
	}
	return nil
}

// createTemp creates the temporary file (mode 0600) in dir, creating dir if
// it is missing: a repository made by another tool may lack a data/xx
// subdirectory.
func createTemp(dir string, h backend.Handle) (*os.File, error) {
	pattern := tempPrefix + filepath.Base(dir) + "-" + h.Name + "-*"
	if h.Type == backend.ConfigFile {
		pattern = tempPrefix + "config-*"
	}
	f, err := os.CreateTemp(dir, pattern)
	if errors.Is(err, fs.ErrNotExist) {
		if merr := os.MkdirAll(dir, dirMode); merr != nil {
			return nil, merr
		}
		f, err = os.CreateTemp(dir, pattern)
	}
	return f, err
}

// writeSync writes data in chunks, checking ctx between them, then fsyncs.
func writeSync(ctx context.Context, f *os.File, data []byte) error {
	for len(data) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(data), writeChunk)
		if _, err := f.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.Sync()
}

// classify marks errors that retrying cannot cure as permanent, and names
// the full-disk case plainly since the raw message is easy to overlook.
func classify(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return backend.Permanent(fmt.Errorf("disk full or quota exceeded: %w", err))
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return backend.Permanent(err)
	}
	return err
}
