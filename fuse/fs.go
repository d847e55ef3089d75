package fuse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/tree"
)

// FS is the file system over one repository's snapshots. Create it with
// New, serve it with Mount, and Close it when the mount is gone.
type FS struct {
	repo  Repository
	opts  Options
	blobs *blobCache

	// ctx bounds every repository call. Requests' own contexts are not
	// used: the kernel interrupts a request on any signal the reader
	// gets (Go programs get SIGURG often), and a blob half loaded for
	// one reader is wanted by the next.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex // serialises refreshes
	st       *state     // guarded by mu
	known    map[crypto.ID]bool
	loaded   map[crypto.ID]*repo.Snapshot // every snapshot seen, filtered or not
	checked  time.Time                    // last listing of snapshot ids
	synced   time.Time                    // last index sync after a missing blob
	errShown map[string]bool              // log a recurring error once
}

// New returns a file system over r. It lists the snapshots once, so
// that a repository that cannot be read fails here rather than on the
// first ls.
func New(ctx context.Context, r Repository, opts Options) (*FS, error) {
	opts = opts.withDefaults()
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &FS{
		repo: r, opts: opts, ctx: fctx, cancel: cancel,
		loaded: map[crypto.ID]*repo.Snapshot{}, errShown: map[string]bool{},
	}
	f.blobs = newBlobCache(fctx, opts.CacheSize, opts.Fetchers, f.loadBlob)
	if _, err := f.state(); err != nil {
		cancel()
		return nil, err
	}
	return f, nil
}

// Close stops background fetches; reads after Close fail.
func (f *FS) Close() error {
	f.cancel()
	return nil
}

// CacheStats reports the blob cache's use, for tests and measurements.
func (f *FS) CacheStats() CacheStats { return f.blobs.stats() }

// state returns the current snapshot set, listing the repository's
// snapshot ids if the last listing is older than RefreshInterval and
// loading only snapshots not seen before. When the listing fails, the
// previous state is kept: a flaky backend should not empty the mount.
func (f *FS) state() (*state, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	if f.st != nil && now.Sub(f.checked) < f.opts.RefreshInterval {
		return f.st, nil
	}
	ids, err := f.repo.SnapshotIDs(f.ctx)
	if err != nil {
		if f.st != nil {
			f.logOnce("list snapshots: %v (showing the previous list)", err)
			return f.st, nil
		}
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	f.checked = now
	if f.st != nil && sameIDs(f.known, ids) {
		return f.st, nil
	}
	known := make(map[crypto.ID]bool, len(ids))
	var sns []*repo.Snapshot
	fresh := false
	for _, id := range ids {
		sn := f.loaded[id]
		if sn == nil {
			if sn, err = f.repo.LoadSnapshot(f.ctx, id); err != nil {
				// One damaged snapshot must not hide the others; it
				// is retried at the next change of the set.
				f.logOnce("%v", err)
				continue
			}
			f.loaded[id] = sn
			fresh = true
		}
		known[id] = true
		if f.opts.Filter == nil || f.opts.Filter(sn) {
			sns = append(sns, sn)
		}
	}
	for id := range f.loaded {
		if !known[id] {
			delete(f.loaded, id)
		}
	}
	// A new snapshot's blobs were indexed by another process: bring the
	// index up to date before anyone reads them.
	if fresh && f.st != nil {
		if err := f.repo.SyncIndex(f.ctx); err != nil {
			f.logOnce("sync index: %v", err)
		}
	}
	f.known = known
	f.st = newState(sns, f.opts.Location)
	return f.st, nil
}

// loadTree loads a directory of a snapshot.
func (f *FS) loadTree(id crypto.ID) (*tree.Tree, error) {
	return f.repo.LoadTree(f.ctx, id)
}

// syncAfterMiss brings the index up to date after a blob was not found,
// at most once per refresh interval, and reports whether it did: the
// index may have been rewritten (prune) since the mount started.
func (f *FS) syncAfterMiss() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	if now.Sub(f.synced) < f.opts.RefreshInterval {
		return false
	}
	f.synced = now
	if err := f.repo.SyncIndex(f.ctx); err != nil {
		f.logOnce("sync index: %v", err)
		return false
	}
	return true
}

// logf reports an error that reaches the caller only as an errno.
func (f *FS) logf(format string, args ...any) {
	f.opts.Log.Printf("cairn mount: "+format, args...)
}

// logOnce is logf for errors that a refresh would repeat every second.
// Callers hold f.mu.
func (f *FS) logOnce(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if f.errShown[msg] {
		return
	}
	if len(f.errShown) > 1000 {
		clear(f.errShown)
	}
	f.errShown[msg] = true
	f.logf("%s", msg)
}
