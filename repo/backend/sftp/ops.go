package sftp

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"

	"cairn/repo/backend"
)

// begin checks the handle and the context and returns the connection.
func (b *Backend) begin(ctx context.Context, op string, h backend.Handle) (*conn, error) {
	if err := h.Valid(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sftp: %s %v: %w", op, h, err)
	}
	return b.get(ctx)
}

// Save writes a temp file beside the final name, syncs it, and renames
// it into place; on any failure the temp file is removed.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	c, err := b.begin(ctx, "save", h)
	if err != nil {
		return err
	}
	final := b.filename(h)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(final), ".tmp-"+h.Name+"-"+hex.EncodeToString(rnd[:]))
	f, err := c.client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if errors.Is(err, fs.ErrNotExist) {
		// A data/xx directory not made yet, or a type added after init.
		if err = c.client.MkdirAll(path.Dir(final)); err == nil {
			f, err = c.client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		}
	}
	if err != nil {
		return b.wrap(c, "save", h, err)
	}
	err = write(ctx, f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.client.PosixRename(tmp, final)
	}
	if err != nil {
		_ = c.client.Remove(tmp)
		return b.wrap(c, "save", h, err)
	}
	return nil
}

// write writes data in pieces, stopping when ctx is done, and syncs.
func write(ctx context.Context, f *sftp.File, data []byte) error {
	const piece = 4 << 20
	for len(data) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(piece, len(data))
		if _, err := f.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil && !errors.Is(err, sftp.ErrSSHFxOpUnsupported) {
		return err
	}
	return nil
}

// Load checks the range against the file's size first, so a short file
// fails before fn runs.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	c, err := b.begin(ctx, "load", h)
	if err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return backend.Permanent(fmt.Errorf("sftp: load %v: negative offset or length", h))
	}
	f, err := c.client.Open(b.filename(h))
	if err != nil {
		return b.wrap(c, "load", h, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return b.wrap(c, "load", h, err)
	}
	n := int64(length)
	if length == 0 {
		n = fi.Size() - offset
	}
	if n < 0 || offset+n > fi.Size() {
		return backend.Permanent(fmt.Errorf("sftp: load %v: range %d+%d past the end (%d bytes): %w", h, offset, length, fi.Size(), io.ErrUnexpectedEOF))
	}
	rd := bufio.NewReaderSize(backend.ContextReader(ctx, io.NewSectionReader(f, offset, n)), 1<<20)
	if err := fn(rd); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sftp: load %v: %w", h, ctx.Err())
		}
		return b.wrap(c, "load", h, err)
	}
	return nil
}

// Stat returns the file's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	c, err := b.begin(ctx, "stat", h)
	if err != nil {
		return backend.FileInfo{}, err
	}
	fi, err := c.client.Stat(b.filename(h))
	if err != nil {
		return backend.FileInfo{}, b.wrap(c, "stat", h, err)
	}
	return backend.FileInfo{Name: h.Name, Size: fi.Size()}, nil
}

// Remove deletes the file.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	c, err := b.begin(ctx, "remove", h)
	if err != nil {
		return err
	}
	return b.wrap(c, "remove", h, c.client.Remove(b.filename(h)))
}

// List reads the type's directory (for packs, each data/xx directory);
// dot names are temp files of saves in progress and are skipped.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	h := backend.Handle{Type: t, Name: "list"}
	if t == backend.ConfigFile {
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if backend.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(backend.FileInfo{Name: "config", Size: fi.Size})
	}
	c, err := b.begin(ctx, "list", h)
	if err != nil {
		return err
	}
	dir := path.Join(b.cfg.Path, string(t))
	if t != backend.PackFile {
		return b.listDir(ctx, c, h, dir, fn)
	}
	subs, err := c.client.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return b.wrap(c, "list", h, err)
	}
	for _, s := range subs {
		if s.IsDir() && s.Name()[0] != '.' {
			if err := b.listDir(ctx, c, h, path.Join(dir, s.Name()), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// listDir calls fn for each regular, non-dot file in dir.
func (b *Backend) listDir(ctx context.Context, c *conn, h backend.Handle, dir string, fn func(backend.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sftp: list %s: %w", h.Type, err)
	}
	ents, err := c.client.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a type added after the repository was created
	}
	if err != nil {
		return b.wrap(c, "list", h, err)
	}
	for _, e := range ents {
		if e.Name()[0] == '.' || !e.Mode().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sftp: list %s: %w", h.Type, err)
		}
		if err := fn(backend.FileInfo{Name: e.Name(), Size: e.Size()}); err != nil {
			return err
		}
	}
	return nil
}
