package backend_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cairn/repo/backend"
	"cairn/repo/backend/faulty"
	"cairn/repo/backend/mem"
	"cairn/repo/backend/test"
)

// fastRetry retries quickly so that tests full of faults stay fast.
var fastRetry = backend.RetryOptions{MaxAttempts: 40, InitialDelay: time.Microsecond, MaxDelay: time.Millisecond}

// allFaults fails some of every kind of request.
var allFaults = faulty.Options{
	SaveFailEvery: 3, SaveLoseEvery: 5, LoadFailEvery: 4, LoadTruncateEvery: 3,
	StatFailEvery: 4, ListFailEvery: 2, RemoveFailEvery: 3,
}

// TestStackSuite runs the conformance suite through the standard stack
// (Retry, Limit, Counting) over a backend that fails a third of its
// requests: the contract must still hold, so Retry cures every fault. It
// uses the in-memory backend for speed; local runs the suite on its own.
func TestStackSuite(t *testing.T) {
	var injected atomic.Int64
	test.RunSuite(t, func(t *testing.T) backend.Backend {
		f := faulty.New(mem.New(), allFaults)
		be, counting := backend.Stack(f, backend.StackOptions{Connections: 2, Retry: fastRetry})
		t.Cleanup(func() {
			injected.Add(f.Injected())
			if c := counting.Counts(); c.Errors < f.Injected() {
				t.Errorf("Counting saw %d errors but %d faults were injected", c.Errors, f.Injected())
			}
		})
		return be
	})
	t.Logf("%d faults injected and cured", injected.Load())
	if injected.Load() < 100 {
		t.Errorf("only %d faults injected; the suite did not exercise Retry", injected.Load())
	}
}

// TestFaultyWithoutRetryFails shows the faults are real: without Retry the
// same schedule makes plain calls fail.
func TestFaultyWithoutRetryFails(t *testing.T) {
	be := faulty.New(mem.New(), allFaults)
	ctx := context.Background()
	failed := 0
	for i := 0; i < 6; i++ {
		if err := be.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: "f" + string(rune('a'+i))}, []byte("x")); errors.Is(err, faulty.ErrInjected) {
			failed++
		}
	}
	if failed != 3 { // saves 3 and 6 fail, save 5 is stored but "lost"
		t.Errorf("%d of 6 saves failed, want 3", failed)
	}
	_, err := backend.LoadAll(ctx, faulty.New(mem.New(), faulty.Options{LoadTruncateEvery: 1}), backend.Handle{Type: backend.IndexFile, Name: "fa"})
	if !backend.IsNotExist(err) {
		t.Errorf("Load of a missing file through truncation = %v", err)
	}
}

func TestRetryRecoversTruncatedLoad(t *testing.T) {
	raw := mem.New()
	ctx := context.Background()
	h := backend.Handle{Type: backend.PackFile, Name: "abcd"}
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := raw.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	// Loads 1 and 2 are truncated, load 3 is whole.
	f := faulty.New(raw, faulty.Options{LoadTruncateEvery: 1})
	_, err := backend.LoadAll(ctx, f, h)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated load = %v, want io.ErrUnexpectedEOF", err)
	}
	counting := backend.NewCounting(faulty.New(raw, faulty.Options{LoadTruncateEvery: 3}))
	calls := 0
	var got []byte
	r := backend.NewRetry(counting, fastRetry)
	for i := 0; i < 3; i++ {
		err = r.Load(ctx, h, 0, 0, func(rd io.Reader) error {
			calls++
			b, err := io.ReadAll(rd)
			got = b
			return err
		})
		if err != nil || len(got) != len(data) {
			t.Fatalf("Load %d through Retry = %d bytes, %v", i, len(got), err)
		}
	}
	if c := counting.Counts(); c.Loads != 4 || calls != 4 {
		t.Errorf("3 loads with the 3rd truncated took %d requests and %d callbacks, want 4 and 4", c.Loads, calls)
	}
}

// alwaysFail fails every request with err.
type alwaysFail struct {
	backend.Backend
	err error
}

func (a alwaysFail) Save(context.Context, backend.Handle, []byte) error { return a.err }

func TestRetryBackoffAndGiveUp(t *testing.T) {
	counting := backend.NewCounting(alwaysFail{Backend: mem.New(), err: faulty.ErrInjected})
	var waits []time.Duration
	var notified int
	r := backend.NewRetry(counting, backend.RetryOptions{
		MaxAttempts: 6, InitialDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond,
		Sleep:  func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Notify: func(string, backend.Handle, int, error, time.Duration) { notified++ },
	})
	err := r.Save(context.Background(), backend.Handle{Type: backend.LockFile, Name: "l"}, nil)
	if !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Save = %v, want the last error wrapped", err)
	}
	if c := counting.Counts(); c.Saves != 6 {
		t.Errorf("%d attempts, want MaxAttempts = 6", c.Saves)
	}
	if len(waits) != 5 || notified != 5 {
		t.Fatalf("%d waits and %d notifications, want 5", len(waits), notified)
	}
	base := []time.Duration{100, 200, 400, 400, 400}
	for i, w := range waits {
		b := base[i] * time.Millisecond
		if w < b/2 || w >= b*3/2 {
			t.Errorf("wait %d = %v, want %v ±50%%", i+1, w, b)
		}
	}
}

func TestRetryMaxElapsed(t *testing.T) {
	counting := backend.NewCounting(alwaysFail{Backend: mem.New(), err: faulty.ErrInjected})
	now := time.Unix(1e9, 0)
	r := backend.NewRetry(counting, backend.RetryOptions{
		MaxAttempts: 1000, MaxElapsed: 10 * time.Second, InitialDelay: time.Second, MaxDelay: time.Second,
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
	})
	if err := r.Save(context.Background(), backend.Handle{Type: backend.LockFile, Name: "l"}, nil); err == nil {
		t.Fatal("Save succeeded")
	}
	// Waits of 0.5-1.5 s within 10 s: between 7 and 21 attempts.
	if n := counting.Counts().Saves; n < 7 || n > 21 {
		t.Errorf("%d attempts within MaxElapsed 10s of ~1s waits", n)
	}
}

func TestRetryDoesNotRetry(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for name, c := range map[string]struct {
		ctx context.Context
		err error
	}{
		"not exist": {ctx, backend.ErrNotExist},
		"permanent": {ctx, backend.Permanent(errors.New("denied"))},
		"invalid":   {ctx, backend.ErrInvalidHandle},
		"cancelled": {ctx, context.Canceled},
		"deadline":  {ctx, context.DeadlineExceeded},
		"ctx done":  {cancelled, faulty.ErrInjected},
	} {
		counting := backend.NewCounting(alwaysFail{Backend: mem.New(), err: c.err})
		r := backend.NewRetry(counting, fastRetry)
		err := r.Save(c.ctx, backend.Handle{Type: backend.LockFile, Name: "l"}, nil)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: Save = %v", name, err)
		}
		if n := counting.Counts().Saves; n != 1 {
			t.Errorf("%s: %d attempts, want 1", name, n)
		}
	}
}

func TestRetryCancelDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := backend.NewRetry(alwaysFail{Backend: mem.New(), err: faulty.ErrInjected}, backend.RetryOptions{InitialDelay: time.Hour, MaxElapsed: 10 * time.Hour})
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	err := r.Save(ctx, backend.Handle{Type: backend.LockFile, Name: "l"}, nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("Save = %v after %v, want context.Canceled promptly", err, time.Since(start))
	}
}

// TestRetryListOncePerFile fails a listing half-way: the retry must not
// deliver the first file twice.
func TestRetryListOncePerFile(t *testing.T) {
	raw := mem.New()
	ctx := context.Background()
	for _, n := range []string{"a1", "b2", "c3", "d4"} {
		if err := raw.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: n}, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	f := faulty.New(raw, faulty.Options{ListFailEvery: 2}) // 2nd List call fails after one file
	counting := backend.NewCounting(f)
	r := backend.NewRetry(counting, fastRetry)
	for round := 0; round < 2; round++ {
		seen := map[string]int{}
		if err := r.List(ctx, backend.IndexFile, func(fi backend.FileInfo) error { seen[fi.Name]++; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 4 {
			t.Errorf("round %d: listed %v, want 4 files", round, seen)
		}
		for n, k := range seen {
			if k != 1 {
				t.Errorf("round %d: %s delivered %d times", round, n, k)
			}
		}
	}
	if c := counting.Counts(); c.Lists != 3 || f.Injected() != 1 {
		t.Errorf("%d List requests, %d faults; want 3 and 1", c.Lists, f.Injected())
	}
}

func TestCounting(t *testing.T) {
	c := backend.NewCounting(mem.New())
	ctx := context.Background()
	h := backend.Handle{Type: backend.IndexFile, Name: "abc"}
	if err := c.Save(ctx, h, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.LoadRange(ctx, c, h, 100, 300); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, backend.Handle{Type: backend.IndexFile, Name: "missing"}); err == nil {
		t.Fatal("Stat of a missing file succeeded")
	}
	if err := c.List(ctx, backend.IndexFile, func(backend.FileInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	want := backend.Counts{Saves: 1, Loads: 1, Stats: 1, Lists: 1, Removes: 1, Errors: 1, BytesSaved: 1000, BytesLoaded: 300, Listed: 1}
	if got := c.Counts(); got != want {
		t.Errorf("Counts() = %+v\nwant       %+v", got, want)
	}
	if want.Requests() != 5 {
		t.Errorf("Requests() = %d", want.Requests())
	}
}

// inflight records the largest number of concurrent Stat calls.
type inflight struct {
	backend.Backend
	mu       sync.Mutex
	cur, max int
}

func (b *inflight) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	b.mu.Lock()
	b.cur++
	b.max = max(b.max, b.cur)
	b.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	b.mu.Lock()
	b.cur--
	b.mu.Unlock()
	return backend.FileInfo{}, nil
}

func TestLimit(t *testing.T) {
	in := &inflight{Backend: mem.New()}
	l := backend.NewLimit(in, 3)
	if l.Connections() != 3 {
		t.Errorf("Connections() = %d", l.Connections())
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Stat(context.Background(), backend.Handle{Type: backend.LockFile, Name: "x"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if in.max != 3 {
		t.Errorf("max concurrent requests = %d, want 3", in.max)
	}

	// A caller waiting for a slot gives up when its ctx is done.
	block := backend.NewLimit(&inflight{Backend: mem.New()}, 1)
	ready := make(chan struct{})
	release := make(chan struct{})
	h := backend.Handle{Type: backend.IndexFile, Name: "i"}
	if err := block.Save(context.Background(), h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = block.Load(context.Background(), h, 0, 0, func(io.Reader) error { close(ready); <-release; return nil })
	}()
	<-ready
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := block.Stat(ctx, h)
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stat while the only slot is held = %v, want DeadlineExceeded", err)
	}
}
