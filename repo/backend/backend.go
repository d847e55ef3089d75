// Package backend defines the storage contract every repository backend
// (local directory, S3, sftp, REST, ...) must honour, and the errors callers
// branch on. Implementations live in sub-packages; wrappers (retry, limits,
// request counting) embed a Backend and override a few methods.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// FileType is the kind of a file in the repository; it is also the name of
// the directory (or key prefix) the file lives under.
type FileType string

// The repository's file types.
const (
	ConfigFile   FileType = "config"
	KeyFile      FileType = "keys"
	PackFile     FileType = "data"
	IndexFile    FileType = "index"
	SnapshotFile FileType = "snapshots"
	LockFile     FileType = "locks"
	// DeletionFile records packs that prune removed from the index and
	// will delete after a grace period (the two-phase protocol in
	// docs/format.md).
	DeletionFile FileType = "deletions"
)

// AllFileTypes lists every file type, config first.
var AllFileTypes = []FileType{ConfigFile, KeyFile, PackFile, IndexFile, SnapshotFile, LockFile, DeletionFile}

// Handle names one file. For ConfigFile the Name is ignored.
type Handle struct {
	Type FileType
	Name string
}

// String returns "type/name".
func (h Handle) String() string {
	if h.Type == ConfigFile {
		return string(ConfigFile)
	}
	return fmt.Sprintf("%s/%s", h.Type, h.Name)
}

// FileInfo describes one stored file.
type FileInfo struct {
	Name string
	Size int64
}

// Backend stores whole files. Obligations of every implementation (checked
// by the conformance suite in backend/test):
//
//   - Save is atomic: after it returns nil the file is durable and complete,
//     and a concurrent or later Load/List/Stat sees all of it (read after
//     write); if it fails or the process dies, the file is absent or, for
//     backends that cannot avoid it, removed on the next Save of the same
//     name. Saving an existing name replaces it atomically.
//   - Load calls fn with a reader of length bytes from offset (length 0 means
//     to the end). fn may be called more than once, on retries, so it must be
//     idempotent. A short file yields an error wrapping io.ErrUnexpectedEOF.
//     A missing file yields an error for which IsNotExist is true.
//   - List calls fn exactly once per file of the type, in no given order,
//     including every file whose Save returned before List started.
//     Returning an error from fn stops the listing with that error.
//   - Remove of a missing file returns an error for which IsNotExist is true.
//   - Every method honours ctx cancellation and is safe for concurrent use.
//
// Further obligations, also checked by the suite:
//
//   - Every method rejects a Handle for which Valid returns an error, with an
//     error wrapping ErrInvalidHandle, before touching storage.
//   - Load with offset equal to the file's size and length 0 gives fn an
//     empty reader; an offset past the end, or offset+length past the end,
//     is a short file (io.ErrUnexpectedEOF), reported either before fn is
//     called or by fn's reader before it has delivered length bytes.
//   - Errors retrying cannot cure (permission denied, disk full, invalid
//     arguments) are marked with Permanent, so wrappers do not retry them.
//   - List(ConfigFile, fn) reports the config file, if present, with the
//     Name "config".
type Backend interface {
	// Location returns the URL-like name of the backend, without secrets.
	Location() string
	// Save stores data under h. It does not modify data, and once it has
	// returned nil it no longer reads data: callers recycle the buffer.
	Save(ctx context.Context, h Handle, data []byte) error
	// Load reads length bytes from offset of h into fn.
	Load(ctx context.Context, h Handle, length int, offset int64, fn func(rd io.Reader) error) error
	// Stat returns the file's size.
	Stat(ctx context.Context, h Handle) (FileInfo, error)
	// List calls fn for every file of type t.
	List(ctx context.Context, t FileType, fn func(FileInfo) error) error
	// Remove deletes h.
	Remove(ctx context.Context, h Handle) error
	// Close releases resources.
	Close() error
}

// ErrNotExist is wrapped by errors for files that do not exist.
var ErrNotExist = errors.New("file does not exist")

// IsNotExist reports whether err says a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }

// ErrInvalidHandle is wrapped by errors for a Handle that names no storable
// file (unknown type, empty name, a name with a path separator, ...).
var ErrInvalidHandle = errors.New("invalid handle")

// MaxNameLen bounds file names; every local file system and object store
// accepts this many bytes in one path component.
const MaxNameLen = 200

// Valid returns nil if h names a file a backend can store, and otherwise an
// error wrapping ErrInvalidHandle. Names are one path component: not empty,
// at most MaxNameLen bytes, without '/', '\\' or NUL, and not starting with
// '.' (backends keep temporary files under dot names). Pack names have at
// least two characters because the first two pick the subdirectory.
func (h Handle) Valid() error {
	known := false
	for _, t := range AllFileTypes {
		if h.Type == t {
			known = true
			break
		}
	}
	if !known {
		return fmt.Errorf("%w: unknown file type %q", ErrInvalidHandle, string(h.Type))
	}
	if h.Type == ConfigFile {
		return nil
	}
	n := h.Name
	switch {
	case n == "":
		return fmt.Errorf("%w: %s: empty name", ErrInvalidHandle, h.Type)
	case len(n) > MaxNameLen:
		return fmt.Errorf("%w: %s: name longer than %d bytes", ErrInvalidHandle, h.Type, MaxNameLen)
	case n[0] == '.':
		return fmt.Errorf("%w: %q: name starts with a dot", ErrInvalidHandle, h.String())
	case strings.ContainsAny(n, "/\\\x00"):
		return fmt.Errorf("%w: %q: name contains a path separator or NUL", ErrInvalidHandle, h.String())
	case h.Type == PackFile && len(n) < 2:
		return fmt.Errorf("%w: %q: pack name shorter than 2 characters", ErrInvalidHandle, h.String())
	}
	return nil
}

// permanentError marks an error that retrying cannot cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot cure (permission denied,
// disk full, a malformed request), so the Retry wrapper returns it at once.
// The result still wraps err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent, or wraps ErrInvalidHandle.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrInvalidHandle)
}

// LoadAll reads a whole file into memory.
func LoadAll(ctx context.Context, be Backend, h Handle) ([]byte, error) {
	var buf []byte
	err := be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		b, err := io.ReadAll(rd)
		buf = b
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf, nil
}

// LoadRange reads exactly length bytes from offset of h.
func LoadRange(ctx context.Context, be Backend, h Handle, offset int64, length int) ([]byte, error) {
	buf := make([]byte, length)
	err := be.Load(ctx, h, length, offset, func(rd io.Reader) error {
		_, err := io.ReadFull(rd, buf)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf, nil
}
