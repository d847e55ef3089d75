package index

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// DefaultLockWait is how long OpenCache waits for another process to
// release the cache directory before it falls back to a private cache.
const DefaultLockWait = 2 * time.Second

// Options tune OpenCacheWith. The zero value gives the defaults.
type Options struct {
	// LockWait is how long to poll for the directory lock before falling
	// back to a private cache; zero means DefaultLockWait.
	LockWait time.Duration
}

// Cache is the badger-backed local index cache of one repository. It is
// safe for concurrent use by several goroutines; lookups run in parallel,
// writes are serialised.
type Cache struct {
	db      *badger.DB
	dir     string   // holds lockFile and dbDir
	lock    *os.File // flock'd for as long as the cache is open
	private bool
	reason  error // why the cache is private, nil if shared

	// wmu serialises Add, RemoveFile and Reset: pack reference counts are
	// read, changed and written back.
	wmu    sync.Mutex
	closed atomic.Bool
}

// Layout of a cache directory.
const (
	lockFile = "lock"
	dbDir    = "db"
)

// OpenCache opens or creates the cache in dir. If another process holds
// dir, it waits briefly and then falls back to a private temporary cache
// (Private reports it), never failing or corrupting the shared one.
func OpenCache(dir string) (*Cache, error) { return OpenCacheWith(dir, Options{}) }

// OpenCacheWith is OpenCache with options. A cache that cannot be opened
// because it is damaged is deleted and created empty (the caller refills
// it: Files is then empty). When dir is locked by another process or
// unusable, the cache is a private one that Close removes; the only error
// is failing to create even that.
func OpenCacheWith(dir string, opt Options) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("open index cache: no directory given")
	}
	if opt.LockWait <= 0 {
		opt.LockWait = DefaultLockWait
	}
	c, err := openShared(dir, opt.LockWait)
	if err == nil {
		return c, nil
	}
	p, perr := openPrivate(dir)
	if perr != nil {
		return nil, fmt.Errorf("open index cache: shared: %v; private: %w", err, perr)
	}
	p.reason = err
	return p, nil
}

// openShared opens the cache in dir, holding its lock.
func openShared(dir string, wait time.Duration) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	removeStalePrivate(dir)
	lock, err := acquireLock(filepath.Join(dir, lockFile), wait)
	if err != nil {
		return nil, err
	}
	db, err := openOrRecreate(filepath.Join(dir, dbDir))
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	return &Cache{db: db, dir: dir, lock: lock}, nil
}

// openPrivate creates a fresh cache beside dir (on the same file system,
// which is meant for caches, unlike a possibly RAM-backed /tmp), or in the
// system temp dir if that fails.
func openPrivate(dir string) (*Cache, error) {
	pdir, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+privateInfix)
	if err != nil {
		pdir, err = os.MkdirTemp("", "cairn-index"+privateInfix)
		if err != nil {
			return nil, fmt.Errorf("create private cache dir: %w", err)
		}
	}
	lock, err := acquireLock(filepath.Join(pdir, lockFile), 0)
	if err != nil {
		_ = os.RemoveAll(pdir)
		return nil, err
	}
	db, err := openOrRecreate(filepath.Join(pdir, dbDir))
	if err != nil {
		_ = lock.Close()
		_ = os.RemoveAll(pdir)
		return nil, err
	}
	return &Cache{db: db, dir: pdir, lock: lock, private: true}, nil
}

// badgerOptions tunes badger for a cache of small values that must not
// dominate the process's memory (measurements in docs/format-index.md):
//
//   - two 8 MiB memtables instead of five of 64 MiB;
//   - no block cache: blocks are stored uncompressed (random ids do not
//     compress) and read straight from the mmapped tables;
//   - 2 MiB tables (badger's default size) on every level, instead of
//     tables that grow with the level (to 64 MiB by default): a
//     compaction keeps up to 13 table builders in flight, each holding a
//     whole table in memory. Against 8 MiB tables a bulk load of 3M
//     entries took 29 s of CPU instead of 43 s, with the same peak
//     memory. The price is ~870 open tables (file descriptors, mappings)
//     at 10M entries; Go raises the soft descriptor limit to the hard one;
//   - up to 8 level-0 tables before compacting: about a quarter less CPU
//     for a bulk load than with 4;
//   - one version per key, no conflict detection (Cache.wmu serialises
//     writes), no metrics;
//   - no logging: badger's messages would land on the user's stderr, and
//     everything that matters reaches us as an error.
func badgerOptions(dir string) badger.Options {
	opt := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(false).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBaseTableSize(2 << 20).
		WithNumLevelZeroTables(8).
		WithNumLevelZeroTablesStall(16).
		WithValueLogFileSize(16 << 20).
		WithNumCompactors(2).
		WithCompactL0OnClose(true)
	opt.TableSizeMultiplier = 1
	return opt
}

// openOrRecreate opens the badger DB at path; if that fails (a damaged
// cache, or a layout from another version), it deletes the DB and creates
// an empty one. The caller holds the directory lock, so nobody else is
// using the files it deletes.
func openOrRecreate(path string) (*badger.DB, error) {
	db, err := openDB(path)
	if err == nil {
		if err = checkMeta(db); err == nil {
			return db, nil
		}
		_ = closeDB(db)
	}
	if rerr := os.RemoveAll(path); rerr != nil {
		return nil, fmt.Errorf("remove damaged index cache (%v): %w", err, rerr)
	}
	db, err2 := openDB(path)
	if err2 != nil {
		return nil, fmt.Errorf("recreate index cache (after %v): %w", err, err2)
	}
	if err2 = checkMeta(db); err2 != nil {
		_ = closeDB(db)
		return nil, fmt.Errorf("initialise index cache: %w", err2)
	}
	return db, nil
}

// openDB opens badger, turning its panics on damaged files (it asserts
// rather than returning errors in places) into errors.
func openDB(path string) (db *badger.DB, err error) {
	defer recoverCorrupt(&err)
	db, err = badger.Open(badgerOptions(path))
	if err != nil {
		return nil, fmt.Errorf("open badger at %s: %w", path, err)
	}
	return db, nil
}

// compactValueLog reclaims value-log space of deleted pack values. Only
// packs of more than ~23,000 blobs (many small tree blobs) have values
// above badger's 1 MiB threshold, so usually there is nothing to do and
// the first call returns at once. Best effort, a few files per Close;
// a panic (badger asserts on damaged files) is dropped: Close goes on.
func compactValueLog(db *badger.DB) {
	defer func() { _ = recover() }()
	for range 4 {
		if db.RunValueLogGC(0.5) != nil {
			return
		}
	}
}

func closeDB(db *badger.DB) (err error) {
	defer recoverCorrupt(&err)
	return db.Close()
}

// checkMeta empties a DB that is not a complete cache of this layout: a
// new one, one from another version, or one where Add or RemoveFile was
// interrupted (the dirty key is still there).
func checkMeta(db *badger.DB) (err error) {
	defer recoverCorrupt(&err)
	var ok bool
	err = db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(keyDirty)); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		item, err := txn.Get([]byte(keyMeta))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			ok = bytes.Equal(v, cacheMagic)
			return nil
		})
	})
	if err != nil || ok {
		return err
	}
	return resetDB(db)
}

// resetDB drops everything and writes the meta key.
func resetDB(db *badger.DB) error {
	if err := db.DropAll(); err != nil {
		return fmt.Errorf("drop index cache: %w", err)
	}
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyMeta), cacheMagic)
	}); err != nil {
		return fmt.Errorf("write index cache meta: %w", err)
	}
	return nil
}

// recoverCorrupt turns a panic inside badger into an error wrapping
// ErrCorrupt. badger panics on some damaged files instead of returning an
// error; a damaged cache must never crash a backup.
// It must be deferred directly: recover works only there.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = panicError(r)
	}
}

// panicError is the error reported for a recovered badger panic.
func panicError(r any) error { return fmt.Errorf("badger panicked: %v: %w", r, ErrCorrupt) }

// Private reports whether the cache is a private temporary one.
func (c *Cache) Private() bool { return c.private }

// FallbackReason returns why the cache is private (typically: another
// process holds the shared one), or nil for the shared cache. Callers
// print it as a warning: a private cache starts empty and must be filled
// from all index files.
func (c *Cache) FallbackReason() error { return c.reason }

// Dir returns the directory the cache lives in (for a private cache, the
// temporary directory that Close removes).
func (c *Cache) Dir() string { return c.dir }

// Close closes the cache (and removes it if private).
func (c *Cache) Close() error {
	if c.closed.Swap(true) {
		return ErrClosed
	}
	if !c.private {
		compactValueLog(c.db)
	}
	err := closeDB(c.db)
	if err != nil {
		err = fmt.Errorf("close index cache: %w", err)
	}
	if c.private {
		// Remove before unlocking, so no other process can mistake the
		// half-removed directory for a stale one and race us.
		if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove private index cache: %w", rerr)
		}
	}
	if lerr := c.lock.Close(); lerr != nil && err == nil {
		err = fmt.Errorf("release index cache lock: %w", lerr)
	}
	return err
}
