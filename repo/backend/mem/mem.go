// Package mem is an in-memory backend for tests of the layers above: it
// honours the whole backend contract (it runs the conformance suite) but
// needs no disk and no fsync, so repository tests stay fast.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"cairn/repo/backend"
)

// Backend keeps files in a map. It is safe for concurrent use.
type Backend struct {
	mu    sync.RWMutex
	files map[backend.Handle][]byte
}

var _ backend.Backend = (*Backend)(nil)

// New returns an empty backend.
func New() *Backend { return &Backend{files: map[backend.Handle][]byte{}} }

// key normalises h: the config file ignores its name.
func key(h backend.Handle) backend.Handle {
	if h.Type == backend.ConfigFile {
		return backend.Handle{Type: backend.ConfigFile, Name: string(backend.ConfigFile)}
	}
	return h
}

// check validates h and ctx, the preamble of every method.
func check(ctx context.Context, op string, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return fmt.Errorf("mem: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mem: %s %v: %w", op, h, err)
	}
	return nil
}

// Location returns "mem:".
func (b *Backend) Location() string { return "mem:" }

// Save stores a copy of data.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := check(ctx, "save", h); err != nil {
		return err
	}
	buf := bytes.Clone(data)
	if buf == nil {
		buf = []byte{}
	}
	b.mu.Lock()
	b.files[key(h)] = buf
	b.mu.Unlock()
	return nil
}

// Load calls fn with a reader over the stored bytes. Stored slices are
// never modified, so the reader needs no lock.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := check(ctx, "load", h); err != nil {
		return err
	}
	if length < 0 || offset < 0 {
		return backend.Permanent(fmt.Errorf("mem: load %v: negative length %d or offset %d", h, length, offset))
	}
	b.mu.RLock()
	data, ok := b.files[key(h)]
	b.mu.RUnlock()
	if !ok {
		return fmt.Errorf("mem: load %v: %w", h, backend.ErrNotExist)
	}
	size := int64(len(data))
	end := offset + int64(length)
	if length == 0 {
		end = size
	}
	if offset > size || end > size {
		return backend.Permanent(fmt.Errorf("mem: load %v: range %d-%d of a %d-byte file: %w", h, offset, end, size, io.ErrUnexpectedEOF))
	}
	if err := fn(&ctxReader{ctx: ctx, r: bytes.NewReader(data[offset:end])}); err != nil {
		return fmt.Errorf("mem: load %v: %w", h, err)
	}
	return nil
}

// ctxReader stops a read once ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Stat returns h's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := check(ctx, "stat", h); err != nil {
		return backend.FileInfo{}, err
	}
	k := key(h)
	b.mu.RLock()
	data, ok := b.files[k]
	b.mu.RUnlock()
	if !ok {
		return backend.FileInfo{}, fmt.Errorf("mem: stat %v: %w", h, backend.ErrNotExist)
	}
	return backend.FileInfo{Name: k.Name, Size: int64(len(data))}, nil
}

// List calls fn for a snapshot of the files of type t taken when List
// starts, so fn may call back into the backend.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := check(ctx, "list", backend.Handle{Type: t, Name: "xx"}); err != nil {
		return err
	}
	var infos []backend.FileInfo
	b.mu.RLock()
	for h, data := range b.files {
		if h.Type == t {
			infos = append(infos, backend.FileInfo{Name: h.Name, Size: int64(len(data))})
		}
	}
	b.mu.RUnlock()
	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mem: list %s: %w", t, err)
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes h.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := check(ctx, "remove", h); err != nil {
		return err
	}
	k := key(h)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[k]; !ok {
		return fmt.Errorf("mem: remove %v: %w", h, backend.ErrNotExist)
	}
	delete(b.files, k)
	return nil
}

// Close does nothing; the files stay readable.
func (b *Backend) Close() error { return nil }
