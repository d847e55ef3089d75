package restore

import (
	"errors"
	"fmt"
)

// Sentinel errors of the package.
var (
	// ErrNotFound: Lookup or Dump was given a path that the snapshot does
	// not contain.
	ErrNotFound = errors.New("no such path in snapshot")
	// ErrNotDir: a path component that must be a directory is not one.
	ErrNotDir = errors.New("not a directory in snapshot")
	// ErrIncomplete: Restore finished but at least one entry could not be
	// restored completely; Stats.Errors says which.
	ErrIncomplete = errors.New("restore incomplete")
	// ErrVerify: a restored file does not match the snapshot.
	ErrVerify = errors.New("restored file differs from snapshot")
	// ErrNotIndexed: a file's chunk names a blob the PackLoader's index
	// does not know.
	ErrNotIndexed = errors.New("blob not in the index")
)

// Error is one problem with one path during Restore.
type Error struct {
	// Path is the target path the problem concerns.
	Path string
	// Op says what was being done, e.g. "write", "lchown", "verify".
	Op string
	// Err is the cause.
	Err error
	// Warning is set when only metadata (xattrs, ownership) could not be
	// applied; warnings do not make Restore fail.
	Warning bool
}

// Error formats the problem with its path.
func (e *Error) Error() string {
	kind := "error"
	if e.Warning {
		kind = "warning"
	}
	return fmt.Sprintf("restore %s: %s: %s: %v", kind, e.Path, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
