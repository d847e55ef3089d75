// Package cache is a backend wrapper that keeps the repository's small,
// often-read, immutable files on local disk, so that `snapshots`, `ls`,
// `find` and an unchanged backup cost a few requests instead of one per
// snapshot and one per directory:
//
//   - snapshot files, on their first whole load and when saved;
//   - tree packs (packs whose blobs are directory nodes), whole, when saved
//     and on the first blob read from one.
//
// The index needs no help here: its badger cache (package index) already
// keeps it. Every cached file is named by the BLAKE3 hash of its bytes and
// is verified against its name before it enters the cache, so a cache
// shared by several repositories, or a stale one, can never give wrong
// bytes. Whole-file loads of packs (check --read-data, repair) always go to
// the backend: they must see what is stored, not the cache.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"cairn/repo/backend"
)

// Cache wraps a backend with a local file cache. Stack it above the other
// wrappers (Retry, Limit, Counting): a hit then costs no request and no
// connection slot, and a miss is retried like any other load.
type Cache struct {
	backend.Backend
	dir string

	mu      sync.Mutex
	loading map[string]*sync.Mutex // one whole-pack download per pack
}

var _ backend.Backend = (*Cache)(nil)

// New wraps be, keeping files under root in a directory named after be's
// location (its hash), so that removals seen by List clean up only this
// repository's files.
func New(be backend.Backend, root string) (*Cache, error) {
	sum := sha256.Sum256([]byte(be.Location()))
	dir := filepath.Join(root, "files", hex.EncodeToString(sum[:8]))
	for _, t := range []backend.FileType{backend.SnapshotFile, backend.PackFile} {
		if err := os.MkdirAll(filepath.Join(dir, string(t)), 0o700); err != nil {
			return nil, fmt.Errorf("create file cache: %w", err)
		}
	}
	return &Cache{Backend: be, dir: dir, loading: map[string]*sync.Mutex{}}, nil
}

// Dir returns the directory holding this backend's cached files.
func (c *Cache) Dir() string { return c.dir }

// cacheable reports whether files of type t are ever cached.
func cacheable(t backend.FileType) bool {
	return t == backend.SnapshotFile || t == backend.PackFile
}

// path returns the cache file of h.
func (c *Cache) path(h backend.Handle) string {
	return filepath.Join(c.dir, string(h.Type), h.Name)
}

// packLock returns the mutex serialising downloads of one pack.
func (c *Cache) packLock(name string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.loading[name]
	if m == nil {
		m = &sync.Mutex{}
		c.loading[name] = m
	}
	return m
}

// Save stores the file and, for snapshots and tree packs, keeps a copy.
func (c *Cache) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := c.Backend.Save(ctx, h, data); err != nil {
		return err
	}
	if h.Valid() == nil && (h.Type == backend.SnapshotFile || (h.Type == backend.PackFile && isTreePack(data))) {
		c.put(h, data) // best effort: a failed cache write costs a request later
	}
	return nil
}

// Remove deletes the file and its cached copy.
func (c *Cache) Remove(ctx context.Context, h backend.Handle) error {
	err := c.Backend.Remove(ctx, h)
	if (err == nil || backend.IsNotExist(err)) && h.Valid() == nil && cacheable(h.Type) {
		_ = os.Remove(c.path(h))
	}
	return err
}

// List lists the backend and, after a complete listing of snapshots or
// packs, drops cached files the backend no longer has (removed by a
// prune or forget elsewhere).
func (c *Cache) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !cacheable(t) {
		return c.Backend.List(ctx, t, fn)
	}
	seen := map[string]bool{}
	var mu sync.Mutex
	err := c.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		mu.Lock()
		seen[fi.Name] = true
		mu.Unlock()
		return fn(fi)
	})
	if err == nil {
		c.expire(t, seen)
	}
	return err
}

// expire removes cached files of type t that are not in seen.
func (c *Cache) expire(t backend.FileType, seen map[string]bool) {
	ents, err := os.ReadDir(filepath.Join(c.dir, string(t)))
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); n[0] != '.' && !seen[n] {
			_ = os.Remove(filepath.Join(c.dir, string(t), n))
		}
	}
}
