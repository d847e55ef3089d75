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
)

// AllFileTypes lists every file type, config first.
var AllFileTypes = []FileType{ConfigFile, KeyFile, PackFile, IndexFile, SnapshotFile, LockFile}

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
type Backend interface {
	// Location returns the URL-like name of the backend, without secrets.
	Location() string
	// Save stores data under h.
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
