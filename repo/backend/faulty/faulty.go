// Package faulty wraps a backend and injects failures on a fixed schedule,
// so that tests can prove the layers above (Retry, the repository) survive
// them. It is for tests only.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"cairn/repo/backend"
)

// ErrInjected is the default injected error.
var ErrInjected = errors.New("faulty: injected failure")

// Options schedule faults. "Every N" means the N-th, 2N-th, ... call of that
// method fails; 0 disables the fault.
type Options struct {
	// SaveFailEvery fails a Save before anything is written.
	SaveFailEvery int
	// SaveLoseEvery stores the file and then reports failure, as when the
	// server's answer is lost.
	SaveLoseEvery int
	// LoadFailEvery fails a Load before fn is called.
	LoadFailEvery int
	// LoadTruncateEvery hands fn a reader that stops with
	// io.ErrUnexpectedEOF after half the bytes, as a dropped connection does.
	LoadTruncateEvery int
	// StatFailEvery fails a Stat.
	StatFailEvery int
	// ListFailEvery fails a List after it has delivered at most one file.
	ListFailEvery int
	// RemoveFailEvery fails a Remove before anything is removed.
	RemoveFailEvery int
	// Delay is added before every call, honouring ctx.
	Delay time.Duration
	// Err is the injected error (default ErrInjected).
	Err error
}

// Backend is a fault-injecting wrapper.
type Backend struct {
	backend.Backend
	opts                                Options
	saves, loads, stats, lists, removes atomic.Int64
	injected                            atomic.Int64
}

var _ backend.Backend = (*Backend)(nil)

// New wraps be.
func New(be backend.Backend, opts Options) *Backend {
	if opts.Err == nil {
		opts.Err = ErrInjected
	}
	return &Backend{Backend: be, opts: opts}
}

// Injected returns how many faults have been injected so far.
func (b *Backend) Injected() int64 { return b.injected.Load() }

// hit reports whether the n-th call is scheduled to fail.
func hit(n int64, every int) bool { return every > 0 && n%int64(every) == 0 }

// fault returns the injected error, counted.
func (b *Backend) fault(op string, h backend.Handle) error {
	b.injected.Add(1)
	return fmt.Errorf("%s %v: %w", op, h, b.opts.Err)
}

// delay waits Options.Delay or until ctx is done.
func (b *Backend) delay(ctx context.Context) error {
	if b.opts.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(b.opts.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Save injects SaveFailEvery and SaveLoseEvery faults.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.delay(ctx); err != nil {
		return err
	}
	n := b.saves.Add(1)
	if hit(n, b.opts.SaveFailEvery) && ctx.Err() == nil {
		return b.fault("save", h)
	}
	err := b.Backend.Save(ctx, h, data)
	if err == nil && hit(n, b.opts.SaveLoseEvery) {
		return b.fault("save (stored, answer lost)", h)
	}
	return err
}

// Load injects LoadFailEvery and LoadTruncateEvery faults.
func (b *Backend) Load(ctx context.Context, h backend.Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	if err := b.delay(ctx); err != nil {
		return err
	}
	n := b.loads.Add(1)
	if hit(n, b.opts.LoadFailEvery) && ctx.Err() == nil {
		return b.fault("load", h)
	}
	if !hit(n, b.opts.LoadTruncateEvery) {
		return b.Backend.Load(ctx, h, length, offset, fn)
	}
	return b.Backend.Load(ctx, h, length, offset, func(rd io.Reader) error {
		want := int64(length)
		if length == 0 {
			fi, err := b.Backend.Stat(ctx, h)
			if err != nil {
				return err
			}
			want = fi.Size - offset
		}
		b.injected.Add(1)
		return fn(&truncReader{r: io.LimitReader(rd, want/2)})
	})
}

// truncReader turns the end of its reader into io.ErrUnexpectedEOF.
type truncReader struct{ r io.Reader }

func (t *truncReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		err = fmt.Errorf("faulty: connection dropped: %w", io.ErrUnexpectedEOF)
	}
	return n, err
}

// Stat injects StatFailEvery faults.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := b.delay(ctx); err != nil {
		return backend.FileInfo{}, err
	}
	if hit(b.stats.Add(1), b.opts.StatFailEvery) && ctx.Err() == nil {
		return backend.FileInfo{}, b.fault("stat", h)
	}
	return b.Backend.Stat(ctx, h)
}

// errCutList stops the inner listing when a fault is due.
var errCutList = errors.New("faulty: cut listing")

// List injects ListFailEvery faults: the listing fails after delivering at
// most one file, unless fn or ctx stopped it first.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := b.delay(ctx); err != nil {
		return err
	}
	if !hit(b.lists.Add(1), b.opts.ListFailEvery) {
		return b.Backend.List(ctx, t, fn)
	}
	delivered := 0
	err := b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if delivered == 1 {
			return errCutList
		}
		delivered++
		return fn(fi)
	})
	if (err == nil || errors.Is(err, errCutList)) && ctx.Err() == nil {
		return b.fault("list", backend.Handle{Type: t})
	}
	return err
}

// Remove injects RemoveFailEvery faults.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := b.delay(ctx); err != nil {
		return err
	}
	if hit(b.removes.Add(1), b.opts.RemoveFailEvery) && ctx.Err() == nil {
		return b.fault("remove", h)
	}
	return b.Backend.Remove(ctx, h)
}
