package index

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// privateInfix separates a cache dir's name from the random suffix of
// the private caches created beside it.
const privateInfix = ".private-"

// staleAge is how old a private cache must be before another process may
// remove it: younger ones may still be between creation and locking.
const staleAge = time.Minute

// removeStalePrivate deletes private caches beside dir left behind by
// processes that died without Close. A private cache is stale when it is
// older than staleAge and its lock is free (or it never got a lock file).
// Best effort: errors are ignored, a leftover costs only disk space.
func removeStalePrivate(dir string) {
	parent, prefix := filepath.Dir(dir), filepath.Base(dir)+privateInfix
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		lp := filepath.Join(p, lockFile)
		st, err := os.Stat(lp)
		if os.IsNotExist(err) {
			st, err = os.Stat(p)
			if err == nil && time.Since(st.ModTime()) >= staleAge {
				_ = os.RemoveAll(p)
			}
			continue
		}
		if err != nil || time.Since(st.ModTime()) < staleAge {
			continue
		}
		if f, ok := tryLock(lp); ok {
			_ = os.RemoveAll(p)
			_ = f.Close()
		}
	}
}
