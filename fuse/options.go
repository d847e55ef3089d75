package fuse

import (
	"log"
	"runtime"
	"time"

	"cairn/repo"
)

// Defaults for Options fields left zero.
const (
	DefaultCacheSize       = 64 << 20
	DefaultReadAhead       = 8 << 20
	DefaultRefreshInterval = time.Second
	// DefaultEntryTimeout is how long the kernel may cache names and
	// attributes inside a snapshot: snapshots never change, so only
	// memory pressure and forgotten snapshots argue for a limit.
	DefaultEntryTimeout = 10 * time.Minute
)

// Options configure a file system. The zero value gives the defaults.
type Options struct {
	// CacheSize bounds the bytes of decrypted blobs kept in memory,
	// shared by all open files. A blob larger than the cache is read
	// but not kept.
	CacheSize int64
	// ReadAhead is how many bytes beyond a sequential read are fetched
	// in the background, in whole chunks (at least one). Negative
	// disables read-ahead.
	ReadAhead int64
	// Fetchers bounds the background fetches running at once (default
	// the number of CPUs, at least 2).
	Fetchers int
	// RefreshInterval is the shortest time between two listings of the
	// repository's snapshots.
	RefreshInterval time.Duration
	// EntryTimeout is how long the kernel caches entries and attributes
	// inside snapshots. The virtual directories use RefreshInterval.
	EntryTimeout time.Duration
	// Filter, if set, hides the snapshots it rejects.
	Filter func(*repo.Snapshot) bool
	// Location is the time zone of snapshot directory names (default
	// time.Local).
	Location *time.Location
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives errors that cannot be returned to a caller other than
	// as an errno (default: the standard logger).
	Log *log.Logger
}

func (o Options) withDefaults() Options {
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.ReadAhead == 0 {
		o.ReadAhead = DefaultReadAhead
	}
	if o.Fetchers <= 0 {
		o.Fetchers = max(2, runtime.NumCPU())
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.EntryTimeout <= 0 {
		o.EntryTimeout = DefaultEntryTimeout
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = log.Default()
	}
	return o
}
