package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// RetryOptions configure Retry. Zero fields take the defaults noted, which
// suit object stores: an outage of a few minutes is ridden out.
type RetryOptions struct {
	// MaxAttempts is the number of attempts per call, first included
	// (default 10).
	MaxAttempts int
	// MaxElapsed stops retrying once this long has passed since the first
	// attempt (default 15 minutes).
	MaxElapsed time.Duration
	// InitialDelay is the wait before the second attempt (default 500 ms);
	// each further wait doubles, up to MaxDelay (default 1 minute). Waits
	// are jittered by ±50% so that many clients do not retry in step.
	InitialDelay, MaxDelay time.Duration
	// Now and Sleep route time, for tests (default time.Now and a timer
	// that stops when ctx is done).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Notify, if set, is called before each wait, for logging.
	Notify func(op string, h Handle, attempt int, err error, wait time.Duration)
}

// withDefaults fills zero fields.
func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MaxElapsed <= 0 {
		o.MaxElapsed = 15 * time.Minute
	}
	if o.InitialDelay <= 0 {
		o.InitialDelay = 500 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry retries failed requests with exponential backoff. It does not retry
// errors that say the file is missing (IsNotExist), errors marked with
// Permanent (or ErrInvalidHandle), or any error once ctx is done.
//
// Every method is safe to repeat: Save replaces atomically and Load's
// callback is idempotent by contract. List remembers the names it has
// delivered and skips them on a retry, so fn is still called once per
// file; an error returned by fn itself is not retried. A Remove whose first
// attempt succeeded but whose answer was lost reports IsNotExist on the
// retry; callers that remove (prune, unlock) treat that as done.
type Retry struct {
	Backend
	opts RetryOptions
}

var _ Backend = (*Retry)(nil)

// NewRetry wraps be.
func NewRetry(be Backend, opts RetryOptions) *Retry {
	return &Retry{Backend: be, opts: opts.withDefaults()}
}

// finalError carries an error that must be returned without a retry.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// retryable reports whether another attempt could succeed.
func retryable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !IsNotExist(err) && !IsPermanent(err) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// do runs f until it succeeds, fails for good, or the attempts or time run
// out. The error of the last attempt is returned, wrapped if retries were
// made so that the message says how many.
func (r *Retry) do(ctx context.Context, op string, h Handle, f func() error) error {
	o := r.opts
	start := o.Now()
	delay := o.InitialDelay
	for attempt := 1; ; attempt++ {
		err := f()
		var fe *finalError
		if errors.As(err, &fe) {
			return fe.err
		}
		if err == nil || !retryable(ctx, err) {
			return err
		}
		wait := time.Duration(float64(delay) * (0.5 + rand.Float64()))
		if attempt >= o.MaxAttempts || o.Now().Sub(start)+wait > o.MaxElapsed {
			return fmt.Errorf("%s %v: giving up after %d attempts in %v: %w",
				op, h, attempt, o.Now().Sub(start).Round(time.Millisecond), err)
		}
		if o.Notify != nil {
			o.Notify(op, h, attempt, err, wait)
		}
		if serr := o.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s %v: %w (while waiting to retry after: %v)", op, h, serr, err)
		}
		delay = min(2*delay, o.MaxDelay)
	}
}

// Save retries failed saves.
func (r *Retry) Save(ctx context.Context, h Handle, data []byte) error {
	return r.do(ctx, "save", h, func() error { return r.Backend.Save(ctx, h, data) })
}

// Load retries failed loads, including failures while fn reads (a dropped
// connection shows up there), calling fn again each time.
func (r *Retry) Load(ctx context.Context, h Handle, length int, offset int64, fn func(rd io.Reader) error) error {
	return r.do(ctx, "load", h, func() error { return r.Backend.Load(ctx, h, length, offset, fn) })
}

// Stat retries failed stats.
func (r *Retry) Stat(ctx context.Context, h Handle) (FileInfo, error) {
	var fi FileInfo
	err := r.do(ctx, "stat", h, func() error {
		var err error
		fi, err = r.Backend.Stat(ctx, h)
		return err
	})
	return fi, err
}

// List retries a failed listing, skipping the files already delivered.
func (r *Retry) List(ctx context.Context, t FileType, fn func(FileInfo) error) error {
	seen := map[string]bool{}
	return r.do(ctx, "list", Handle{Type: t}, func() error {
		fnFailed := false
		err := r.Backend.List(ctx, t, func(fi FileInfo) error {
			if seen[fi.Name] {
				return nil
			}
			seen[fi.Name] = true
			if err := fn(fi); err != nil {
				fnFailed = true
				return err
			}
			return nil
		})
		if fnFailed {
			return &finalError{err: err}
		}
		return err
	})
}

// Remove retries failed removes.
func (r *Retry) Remove(ctx context.Context, h Handle) error {
	return r.do(ctx, "remove", h, func() error { return r.Backend.Remove(ctx, h) })
}
