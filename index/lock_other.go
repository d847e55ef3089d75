//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package index

import (
	"errors"
	"os"
	"time"
)

// ErrLocked is wrapped by the fallback reason of a private cache when the
// shared cache cannot be locked. Without flock on this platform the shared
// cache is never used: every process gets a private one.
var ErrLocked = errors.New("index cache locking not supported on this platform")

func acquireLock(path string, wait time.Duration) (*os.File, error) {
	if wait == 0 { // a private directory: nobody else knows it
		return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	}
	return nil, ErrLocked
}

func tryLock(string) (*os.File, bool) { return nil, false }
