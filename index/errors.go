package index

import "errors"

// Sentinel errors of package index. Callers branch on them with errors.Is;
// every error returned by this package that is about bad data wraps one of
// them (or crypto.ErrAuth when a sealed index file does not verify).
var (
	// ErrFormat is wrapped by errors about an index file whose plaintext is
	// not a valid encoding, or a File that cannot be encoded.
	ErrFormat = errors.New("invalid index file format")

	// ErrCorrupt is wrapped by errors about a damaged local cache. The cache
	// is only a copy: the caller recovers with Reset and a reload from the
	// index files.
	ErrCorrupt = errors.New("index cache corrupt")

	// ErrLocked is wrapped by Cache.FallbackReason when the shared cache
	// is held by another process (or another Cache in this one). Where
	// flock is unavailable, every cache is private for this reason.
	ErrLocked = errors.New("index cache in use by another process")

	// ErrClosed is returned by methods of a Cache after Close.
	ErrClosed = errors.New("index cache closed")
)
