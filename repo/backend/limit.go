package backend

import (
	"context"
	"fmt"
	"io"
)

// Limit bounds the number of requests in flight to the backend it wraps
// (connections to an object store, parallel disk writes). Save, Load, Stat
// and Remove each hold a slot for their whole duration, Load including its
// callback, so a callback must not call back into the same Limit. List
// holds no slot: its callback typically loads the files it lists, which
// would deadlock a limit of 1.
type Limit struct {
	Backend
	sem chan struct{}
}

var _ Backend = (*Limit)(nil)

// NewLimit wraps be so that at most n requests run at once (n < 1 means 1).
func NewLimit(be Backend, n int) *Limit {
	return &Limit{Backend: be, sem: make(chan struct{}, max(n, 1))}
}

// Connections returns the limit.
func (l *Limit) Connections() int { return cap(l.sem) }

// acquire takes a slot, or fails when ctx is done first.
func (l *Limit) acquire(ctx context.Context, op string, h Handle) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %v: %w", op, h, err)
	}
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %v: waiting for a connection slot: %w", op, h, ctx.Err())
	}
}

func (l *Limit) release() { <-l.sem }

// Save runs within a slot.
func (l *Limit) Save(ctx context.Context, h Handle, data []byte) error {
	if err := l.acquire(ctx, "save", h); err != nil {
		return err
	}
	defer l.release()
	return l.Backend.Save(ctx, h, data)
}

// Load runs, callback included, within a slot.
func (l *Limit) Load(ctx context.Context, h Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := l.acquire(ctx, "load", h); err != nil {
		return err
	}
	defer l.release()
	return l.Backend.Load(ctx, h, length, offset, fn)
}

// Stat runs within a slot.
func (l *Limit) Stat(ctx context.Context, h Handle) (FileInfo, error) {
	if err := l.acquire(ctx, "stat", h); err != nil {
		return FileInfo{}, err
	}
	defer l.release()
	return l.Backend.Stat(ctx, h)
}

// Remove runs within a slot.
func (l *Limit) Remove(ctx context.Context, h Handle) error {
	if err := l.acquire(ctx, "remove", h); err != nil {
		return err
	}
	defer l.release()
	return l.Backend.Remove(ctx, h)
}
