package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sender delivers one event once; Dispatch adds deadlines and retries.
type Sender interface {
	Send(ctx context.Context, ev Event) error
	// String names the target for logs without its secrets.
	String() string
}

// Target is a Sender with the events it wants and its limits.
type Target struct {
	Sender Sender
	On     []Kind // empty: warning and failure
	// Timeout bounds the whole delivery, retries included: a dead or
	// hanging endpoint costs the run at most this long.
	Timeout time.Duration
	Retries int // extra attempts after a failed one, while time remains
}

// DefaultTimeout is a target's delivery budget when none is configured.
const DefaultTimeout = 10 * time.Second

// DefaultRetries is the number of extra attempts when none is configured.
const DefaultRetries = 2

// Wants reports whether the target subscribes to k.
func (t Target) Wants(k Kind) bool {
	if len(t.On) == 0 {
		return k == Warning || k == Failure
	}
	for _, o := range t.On {
		if o == k {
			return true
		}
	}
	return false
}

// Result is one target's delivery outcome.
type Result struct {
	Target   string
	Attempts int
	Err      error
}

// Dispatch sends ev to every target that wants it, concurrently, and waits
// for all of them; the wait is bounded by the largest target timeout.
// Errors are returned per target for the caller to log, never raised.
func Dispatch(ctx context.Context, targets []Target, ev Event) []Result {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []Result
	)
	for _, t := range targets {
		if !t.Wants(ev.Kind) {
			continue
		}
		wg.Add(1)
		go func(t Target) {
			defer wg.Done()
			res := deliver(ctx, t, ev)
			mu.Lock()
			out = append(out, res)
			mu.Unlock()
		}(t)
	}
	wg.Wait()
	return out
}

// deliver makes attempts until one succeeds, the retries are used up or
// the budget is spent. Each attempt gets the remaining budget, so a hanging
// endpoint is given up on when the budget ends, not retried.
func deliver(ctx context.Context, t Target, ev Event) Result {
	budget := t.Timeout
	if budget <= 0 {
		budget = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	res := Result{Target: t.Sender.String()}
	backoff := 250 * time.Millisecond
	for {
		res.Attempts++
		err := t.Sender.Send(ctx, ev)
		if err == nil {
			res.Err = nil
			return res
		}
		res.Err = err
		if res.Attempts > t.Retries || ctx.Err() != nil || errors.Is(err, errPermanent) {
			if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
				res.Err = fmt.Errorf("%w (gave up after %s)", err, budget)
			}
			return res
		}
		select {
		case <-ctx.Done():
			return res
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}
