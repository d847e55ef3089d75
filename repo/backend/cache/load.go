package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/backend"
)

// Pack format bytes the cache recognises tree packs by (docs/format-pack.md):
// a pack starts with its magic and salt; every blob with a header whose
// third byte is the blob type, and a pack holds blobs of one type only.
const (
	packMagic = "CAIRNPK1"
	blobMagic = "CB"
)

// isTreePack reports whether a whole pack file holds tree blobs.
func isTreePack(data []byte) bool {
	return len(data) > pack.HeaderSize+3 && string(data[:len(packMagic)]) == packMagic &&
		isTreeBlob(data[pack.HeaderSize:])
}

// isTreeBlob reports whether b starts with the header of a tree blob.
func isTreeBlob(b []byte) bool {
	return len(b) >= 3 && string(b[:2]) == blobMagic && pack.BlobType(b[2]) == pack.TreeBlob
}

// Load serves snapshots and ranges of tree packs from the cache, filling
// it on a miss; everything else goes to the backend.
func (c *Cache) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load %v: %w", h, err)
	}
	if h.Valid() != nil || !cacheable(h.Type) {
		return c.Backend.Load(ctx, h, length, offset, fn)
	}
	switch {
	case h.Type == backend.SnapshotFile:
		if ok, err := c.loadCached(ctx, h, length, offset, fn); ok {
			return err
		}
		if length != 0 || offset != 0 {
			return c.Backend.Load(ctx, h, length, offset, fn)
		}
		data, err := backend.LoadAll(ctx, c.Backend, h)
		if err != nil {
			return err
		}
		c.put(h, data)
		return fn(bytes.NewReader(data))
	case offset == 0:
		// A whole-pack (or pack header) read is check or repair looking
		// at what is stored: never the cache.
		return c.Backend.Load(ctx, h, length, offset, fn)
	}
	if ok, err := c.loadCached(ctx, h, length, offset, fn); ok {
		return err
	}
	// A blob read: remember its type byte on the way through. A tree blob
	// means a tree pack, which is fetched whole once so that the other
	// trees in it are local too.
	var head headSniffer
	err := c.Backend.Load(ctx, h, length, offset, func(rd io.Reader) error {
		head = headSniffer{}
		return fn(io.TeeReader(rd, &head))
	})
	if err == nil && isTreeBlob(head.b) {
		c.fetch(ctx, h)
	}
	return err
}

// loadCached serves a load from the cached file, if there is one; ok is
// false on a miss.
func (c *Cache) loadCached(ctx context.Context, h backend.Handle, length int, offset int64, fn func(io.Reader) error) (ok bool, err error) {
	f, err := os.Open(c.path(h))
	if err != nil {
		return false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, nil
	}
	size := fi.Size()
	n := int64(length)
	if length == 0 {
		n = size - offset
	}
	if offset < 0 || n < 0 || offset+n > size {
		return true, fmt.Errorf("load %v: range %d+%d past the end (%d bytes): %w", h, offset, length, size, io.ErrUnexpectedEOF)
	}
	return true, fn(backend.ContextReader(ctx, io.NewSectionReader(f, offset, n)))
}

// fetch downloads a whole pack into the cache, once; failures only cost
// the cache.
func (c *Cache) fetch(ctx context.Context, h backend.Handle) {
	m := c.packLock(h.Name)
	m.Lock()
	defer m.Unlock()
	if _, err := os.Stat(c.path(h)); err == nil {
		return
	}
	data, err := backend.LoadAll(ctx, c.Backend, h)
	if err == nil && isTreePack(data) {
		c.put(h, data)
	}
}

// put writes a file into the cache, atomically, if its bytes hash to its
// name: a damaged download never enters the cache.
func (c *Cache) put(h backend.Handle, data []byte) {
	id, err := crypto.ParseID(h.Name)
	if err != nil || crypto.Hash(data) != id {
		return
	}
	dir := filepath.Join(c.dir, string(h.Type))
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, h.Name))
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
	}
}

// headSniffer keeps the first bytes written to it.
type headSniffer struct{ b []byte }

func (s *headSniffer) Write(p []byte) (int, error) {
	if need := 3 - len(s.b); need > 0 {
		s.b = append(s.b, p[:min(need, len(p))]...)
	}
	return len(p), nil
}
