package repo

import "errors"

// Sentinel errors callers branch on; cmd/cairn maps them to exit codes.
var (
	// ErrNoRepository means there is no repository at the location (exit 10).
	ErrNoRepository = errors.New("repository does not exist")
	// ErrWrongPassword means no key file opens with the password (exit 12).
	ErrWrongPassword = errors.New("wrong password or no key found")
	// ErrLockHeld means a conflicting lock is held by another process (exit 11).
	ErrLockHeld = errors.New("repository is locked")
	// ErrAlreadyExists means init found a repository at the location.
	ErrAlreadyExists = errors.New("repository already exists")
	// ErrBlobNotFound means a blob id is not in the index.
	ErrBlobNotFound = errors.New("blob not found in index")
	// ErrNoSnapshot means no snapshot matches a name or filter.
	ErrNoSnapshot = errors.New("no matching snapshot")
	// ErrAmbiguous means a snapshot id prefix matches several snapshots.
	ErrAmbiguous = errors.New("ambiguous snapshot id prefix")
)
