// Package repo is the repository: init and open, config and keys, locks,
// snapshots, trees, and the blob store (SaveBlob/LoadBlob) on top of a
// backend, the pack format and the index.
package repo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"cairn/chunker"
	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/backend"
)

// Options configure opening a repository.
type Options struct {
	// CacheDir is the root of the local cache (default: the XDG cache dir
	// + "/cairn"); each repository uses the sub-directory named by its id.
	CacheDir string
	// NoCache keeps the index cache in a private temporary directory.
	NoCache bool
	// KDF sets key derivation cost for new key files (zero: DefaultKDF).
	KDF KDFParams
	// Now is the clock (default time.Now); tests inject skew through it.
	Now func() time.Time
	// Workers bounds concurrent backend loads (default 8).
	Workers int
	// PackWindows reads small blobs through a cache of 2 MiB pack windows
	// (one request per window instead of per blob): for remote backends.
	PackWindows bool
	// Uploaders bounds packs uploaded in the background at once (default 2);
	// each holds a whole pack in memory.
	Uploaders int
}

// InitOptions configure a new repository.
type InitOptions struct {
	Options
	// PackSize is the target pack size (default DefaultPackSize).
	PackSize int
	// Chunker fixes chunker parameters (e.g. copied from another repository
	// so that both deduplicate alike); zero means random ones.
	Chunker *chunker.Params
}

// Repository is an open repository. Its methods are safe for concurrent use.
type Repository struct {
	be       backend.Backend
	key      *crypto.Key
	keyID    crypto.ID
	cfg      Config
	fileAEAD *crypto.AEAD
	opts     Options
	cache    *index.Cache

	mu      sync.Mutex
	packers map[pack.BlobType]*pack.Writer
	pending map[crypto.ID]pack.BlobType // saved blobs not yet in the cache
	doomed  map[crypto.ID]bool          // packs listed in deletion records
	stats   SaveStats

	packKeys  keyCache
	treeCache treeCache
	windows   windowCache

	uploadSem chan struct{}  // bounds packs being uploaded in the background
	uploads   sync.WaitGroup // uploads in flight; Flush waits for them
	uploadErr error          // first failed upload, under mu
	bufs      saveBuffers    // recycled payload and pack buffers (blobs.go)
	hashers   *blobHashers   // recycled keyed hashers for blob ids
}

// SaveStats count what SaveBlob stored in this session.
type SaveStats struct {
	BlobsNew      int64 `json:"blobs_new"`
	BytesAdded    int64 `json:"bytes_added"`     // bytes written to packs (sealed)
	BytesAddedRaw int64 `json:"bytes_added_raw"` // plaintext of new blobs
	PacksWritten  int64 `json:"packs_written"`
}

func (o *Options) fill() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Uploaders <= 0 {
		o.Uploaders = 2
	}
	if o.CacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(d, "cairn")
		}
	}
}

func (r *Repository) now() time.Time { return r.opts.Now() }

// Init creates a repository in an empty backend, protected by password.
func Init(ctx context.Context, be backend.Backend, password string, opts InitOptions) (*Repository, error) {
	opts.fill()
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err == nil {
		return nil, fmt.Errorf("init %s: %w", be.Location(), ErrAlreadyExists)
	} else if !backend.IsNotExist(err) {
		return nil, fmt.Errorf("init %s: %w", be.Location(), err)
	}
	master, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	cfg := Config{Version: FormatVersion, PackSize: opts.PackSize}
	if cfg.PackSize == 0 {
		cfg.PackSize = DefaultPackSize
	}
	if opts.Chunker != nil {
		cfg.Chunker = *opts.Chunker
	} else if cfg.Chunker, err = chunker.NewParams(); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if err := cfg.Chunker.Validate(); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	rid := master.BlobID([]byte("repository id"))
	cfg.ID = hex.EncodeToString(rid[:16])
	keyID, err := saveKey(ctx, be, master, password, opts.KDF, opts.Now())
	if err != nil {
		return nil, err
	}
	r := newRepository(be, master, keyID, cfg, opts.Options)
	if err := r.saveConfig(ctx, cfg); err != nil {
		return nil, err
	}
	if err := r.openCache(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func newRepository(be backend.Backend, key *crypto.Key, keyID crypto.ID, cfg Config, opts Options) *Repository {
	return &Repository{
		be: be, key: key, keyID: keyID, cfg: cfg, opts: opts,
		fileAEAD:  key.FileAEAD(),
		packers:   map[pack.BlobType]*pack.Writer{},
		pending:   map[crypto.ID]pack.BlobType{},
		doomed:    map[crypto.ID]bool{},
		packKeys:  newKeyCache(key, 256),
		treeCache: newTreeCache(64 << 20),
		windows:   newWindowCache(),
		uploadSem: make(chan struct{}, opts.Uploaders),
		hashers:   newBlobHashers(key),
		bufs:      newSaveBuffers(),
	}
}

// Open opens the repository in be with password. It returns errors wrapping
// ErrNoRepository or ErrWrongPassword for callers to branch on.
func Open(ctx context.Context, be backend.Backend, password string, opts Options) (*Repository, error) {
	opts.fill()
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err != nil {
		if backend.IsNotExist(err) {
			return nil, fmt.Errorf("open %s: %w", be.Location(), ErrNoRepository)
		}
		return nil, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	master, keyID, err := findKey(ctx, be, password)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	cfg, err := loadConfig(ctx, be, master.FileAEAD())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", be.Location(), err)
	}
	r := newRepository(be, master, keyID, cfg, opts)
	if err := r.openCache(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// IsNoRepository reports whether err means there is no repository.
func IsNoRepository(err error) bool { return errors.Is(err, ErrNoRepository) }

// Config returns the repository's config.
func (r *Repository) Config() Config { return r.cfg }

// Backend returns the storage backend.
func (r *Repository) Backend() backend.Backend { return r.be }

// Key returns the master key (for packages that read packs directly:
// check, repair, tape).
func (r *Repository) Key() *crypto.Key { return r.key }

// KeyID returns the id of the key file that opened the repository.
func (r *Repository) KeyID() crypto.ID { return r.keyID }

// Index returns the local index cache.
func (r *Repository) Index() *index.Cache { return r.cache }

// FileAEAD returns the AEAD that seals metadata files.
func (r *Repository) FileAEAD() *crypto.AEAD { return r.fileAEAD }

// ChunkerParams returns the repository's chunker parameters.
func (r *Repository) ChunkerParams() chunker.Params { return r.cfg.Chunker }

// Stats returns what this session has saved so far.
func (r *Repository) Stats() SaveStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Close flushes nothing (call Flush first) and releases the cache.
func (r *Repository) Close() error {
	r.uploads.Wait() // an aborted backup may still be storing a pack
	var err error
	if r.cache != nil {
		err = r.cache.Close()
	}
	if cerr := r.be.Close(); err == nil {
		err = cerr
	}
	return err
}

// Now returns the repository's clock (injectable through Options.Now).
func (r *Repository) Now() time.Time { return r.opts.Now() }
