package repo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/repo/backend"
)

// CacheDir returns the directory of this repository's local cache.
func (r *Repository) CacheDir() string {
	if r.opts.CacheDir == "" || r.opts.NoCache {
		return ""
	}
	return filepath.Join(r.opts.CacheDir, r.cfg.ID)
}

func (r *Repository) openCache(ctx context.Context) error {
	dir := r.CacheDir()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "cairn-cache-")
		if err != nil {
			return fmt.Errorf("create temporary cache: %w", err)
		}
		dir = tmp
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	c, err := index.OpenCache(filepath.Join(dir, "index"))
	if err != nil {
		return fmt.Errorf("open index cache: %w", err)
	}
	r.cache = c
	return r.SyncIndex(ctx)
}

// SyncIndex brings the local index cache up to date with the index files
// in the backend: new files are added, then files no longer stored
// (removed by prune or repair) are dropped from it, incrementally (the
// cache keeps every pack of a blob stored twice, index/cache_alt.go). It
// also reloads prune's deletion records. Writers call it again after
// taking their lock, so that a backup either sees a deletion record or
// holds a lock older than it.
func (r *Repository) SyncIndex(ctx context.Context) error {
	var stored []crypto.ID
	err := r.be.List(ctx, backend.IndexFile, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			return nil // not ours: check reports it
		}
		stored = append(stored, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index files: %w", err)
	}
	if err := r.loadDoomed(ctx); err != nil {
		return err
	}
	err = r.cache.Sync(stored, func(id crypto.ID) (*index.File, error) {
		f, err := r.LoadIndexFile(ctx, id)
		if backend.IsNotExist(err) {
			// Removed since the listing by a prune, which stored
			// its replacement first: at worst blobs are saved again.
			return nil, nil
		}
		return f, err
	})
	if err != nil {
		return fmt.Errorf("sync index cache: %w", err)
	}
	return nil
}

// LoadIndexFile loads and decodes one index file.
func (r *Repository) LoadIndexFile(ctx context.Context, id crypto.ID) (*index.File, error) {
	data, err := backend.LoadAll(ctx, r.be, backend.Handle{Type: backend.IndexFile, Name: id.String()})
	if err != nil {
		return nil, fmt.Errorf("load index %s: %w", id.Short(), err)
	}
	if crypto.Hash(data) != id {
		return nil, fmt.Errorf("index %s: content does not match its name (damaged)", id.Short())
	}
	f, err := index.Decode(r.fileAEAD, data)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", id.Short(), err)
	}
	return f, nil
}

// ForEachIndexedPack calls fn for every pack named by the index files in
// the backend, once per pack, decoding one index file at a time. Prune and
// check walk the whole index through it: iterating the badger cache instead
// would map its whole database into memory.
func (r *Repository) ForEachIndexedPack(ctx context.Context, fn func(index.PackInfo) error) error {
	var ids []crypto.ID
	err := r.be.List(ctx, backend.IndexFile, func(fi backend.FileInfo) error {
		if id, err := crypto.ParseID(fi.Name); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index files: %w", err)
	}
	seen := map[crypto.ID]struct{}{}
	for _, id := range ids {
		f, err := r.LoadIndexFile(ctx, id)
		if backend.IsNotExist(err) {
			continue // replaced by a concurrent prune: its packs are in the new files
		}
		if err != nil {
			return err
		}
		for _, p := range f.Packs {
			if _, ok := seen[p.ID]; ok {
				continue
			}
			seen[p.ID] = struct{}{}
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}
