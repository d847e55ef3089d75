package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"cairn/repo/backend"
)

// LockKind says what a lock excludes.
type LockKind string

// Lock kinds. Shared locks (backup, check, restore) never block each other
// nor maintenance; a maintenance lock (forget, prune) excludes other
// maintenance; an exclusive lock (repair, key changes) excludes everything.
const (
	LockShared      LockKind = "shared"
	LockMaintenance LockKind = "maintenance"
	LockExclusive   LockKind = "exclusive"
)

// StaleLockAge is how long an unrefreshed lock stays valid.
const StaleLockAge = 30 * time.Minute

// lockRefresh is how often a held lock is rewritten.
const lockRefresh = 5 * time.Minute

// LockInfo is the sealed content of a lock file.
type LockInfo struct {
	Name     string    `json:"-"`
	Kind     LockKind  `json:"kind"`
	Created  time.Time `json:"created"`
	Time     time.Time `json:"time"` // last refresh
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Username string    `json:"username,omitempty"`
	Command  string    `json:"command,omitempty"`
}

// LockHeldError names the lock that conflicts; it wraps ErrLockHeld.
type LockHeldError struct{ Lock LockInfo }

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("repository is locked (%s lock by %s pid %d on %s since %s); run `cairn unlock` if that process is gone",
		e.Lock.Kind, e.Lock.Username, e.Lock.PID, e.Lock.Host, e.Lock.Time.Format(time.RFC3339))
}

// Unwrap returns ErrLockHeld.
func (e *LockHeldError) Unwrap() error { return ErrLockHeld }

func conflicts(a, b LockKind) bool {
	if a == LockExclusive || b == LockExclusive {
		return true
	}
	return a == LockMaintenance && b == LockMaintenance
}

// Lock is a held lock; Unlock releases it.
type Lock struct {
	r      *Repository
	info   LockInfo
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

const lockAD = "cairn lock v1"

func (r *Repository) saveLock(ctx context.Context, li LockInfo) error {
	plain, err := json.Marshal(li)
	if err != nil {
		return err
	}
	sealed := r.fileAEAD.Seal(nil, plain, []byte(lockAD))
	return r.be.Save(ctx, backend.Handle{Type: backend.LockFile, Name: li.Name}, sealed)
}

// Locks lists the lock files that can be read.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	var names []string
	if err := r.be.List(ctx, backend.LockFile, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	var out []LockInfo
	for _, name := range names {
		sealed, err := backend.LoadAll(ctx, r.be, backend.Handle{Type: backend.LockFile, Name: name})
		if backend.IsNotExist(err) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("load lock %s: %w", name, err)
		}
		li := LockInfo{Name: name}
		plain, err := r.fileAEAD.Open(nil, sealed, []byte(lockAD))
		if err == nil {
			err = json.Unmarshal(plain, &li)
		}
		if err != nil {
			// An unreadable lock is treated as a fresh exclusive one so
			// that nothing runs over it unnoticed; unlock removes it.
			li = LockInfo{Name: name, Kind: LockExclusive, Created: r.now(), Time: r.now(), Host: "?", Command: "unreadable lock file"}
		}
		out = append(out, li)
	}
	return out, nil
}

// IsStale reports whether li can be ignored: its process is gone (same
// host) or it was not refreshed for StaleLockAge.
func (r *Repository) IsStale(li LockInfo) bool {
	if r.now().Sub(li.Time) > StaleLockAge {
		return true
	}
	host, _ := os.Hostname()
	if li.Host == host && li.PID > 0 {
		if err := syscall.Kill(li.PID, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
	}
	return false
}

// Lock takes a lock of the given kind, failing with a *LockHeldError if a
// conflicting live lock exists. The lock is refreshed in the background
// until Unlock.
func (r *Repository) Lock(ctx context.Context, kind LockKind, command string) (*Lock, error) {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	now := r.now()
	li := LockInfo{Name: hex.EncodeToString(rnd[:]) + hex.EncodeToString(rnd[:]), Kind: kind, Created: now, Time: now, PID: os.Getpid(), Command: command}
	li.Host, _ = os.Hostname()
	li.Username = os.Getenv("USER")
	if err := r.saveLock(ctx, li); err != nil {
		return nil, fmt.Errorf("save lock: %w", err)
	}
	others, err := r.Locks(ctx)
	if err != nil {
		_ = r.removeLock(li.Name)
		return nil, err
	}
	for _, o := range others {
		if o.Name == li.Name || !conflicts(kind, o.Kind) || r.IsStale(o) {
			continue
		}
		_ = r.removeLock(li.Name)
		return nil, &LockHeldError{Lock: o}
	}
	rctx, cancel := context.WithCancel(context.Background())
	l := &Lock{r: r, info: li, cancel: cancel}
	l.wg.Add(1)
	go l.refresh(rctx)
	return l, nil
}

func (l *Lock) refresh(ctx context.Context) {
	defer l.wg.Done()
	t := time.NewTicker(lockRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.info.Time = l.r.now()
			_ = l.r.saveLock(ctx, l.info) // a failed refresh is retried next tick
		}
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	l.cancel()
	l.wg.Wait()
	return l.r.removeLock(l.info.Name)
}

func (r *Repository) removeLock(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := r.be.Remove(ctx, backend.Handle{Type: backend.LockFile, Name: name})
	if backend.IsNotExist(err) {
		return nil
	}
	return err
}

// RemoveLocks deletes stale locks, or all locks when all is set, and
// returns how many it removed.
func (r *Repository) RemoveLocks(ctx context.Context, all bool) (int, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, li := range locks {
		if all || r.IsStale(li) {
			if err := r.removeLock(li.Name); err != nil {
				return n, fmt.Errorf("remove lock %s: %w", li.Name, err)
			}
			n++
		}
	}
	return n, nil
}
