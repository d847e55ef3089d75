package backend

// StackOptions configure Stack.
type StackOptions struct {
	// Connections bounds the requests in flight (default 5).
	Connections int
	// Retry configures the Retry wrapper.
	Retry RetryOptions
}

// Stack wraps a raw backend in the standard wrappers, in the one order the
// repository uses, and returns the result and its request counter:
//
//	Retry → Limit → Counting → raw
//
// Counting sits next to the raw backend so that every attempt, retries
// included, is a counted request; Limit sits below Retry so that a call
// waiting out its backoff holds no connection slot. Open a repository's
// backend with this and nothing else, so the order is decided once.
func Stack(raw Backend, opts StackOptions) (Backend, *Counting) {
	if opts.Connections <= 0 {
		opts.Connections = 5
	}
	counting := NewCounting(raw)
	return NewRetry(NewLimit(counting, opts.Connections), opts.Retry), counting
}
