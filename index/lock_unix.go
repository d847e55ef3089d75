//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package index

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is the interval at which acquireLock retries.
const lockPoll = 50 * time.Millisecond

// acquireLock opens path and takes an exclusive flock on it, retrying
// until wait has passed. flock rather than badger's own directory lock:
// badger reports a held lock as an error that cannot be told apart from
// a damaged database, and we must never delete a cache someone else is
// using. flock locks belong to the open file, so a second Cache in the
// same process is refused just like another process, and the kernel
// releases the lock when a process dies.
func acquireLock(path string, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open cache lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("%s still locked after %v: %w", path, wait, ErrLocked)
		}
		time.Sleep(lockPoll)
	}
}

// tryLock reports whether path's lock is free, taking it if so.
func tryLock(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		_ = f.Close()
		return nil, false
	}
	return f, true
}
