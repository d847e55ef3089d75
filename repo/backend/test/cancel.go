package test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"cairn/repo/backend"
)

// testCancelled calls every method with a cancelled context (and one past
// its deadline): each must fail with the context's error, a cancelled Save
// must leave nothing behind, and nothing else may change.
func testCancelled(t *testing.T, be backend.Backend) {
	r := rng(t)
	h := backend.Handle{Type: backend.IndexFile, Name: randomName(r)}
	data := randomData(r, 5000)
	save(t, be, h, data)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		fresh := backend.Handle{Type: backend.IndexFile, Name: randomName(r)}
		mustBe(t, "Save", be.Save(c.ctx, fresh, data), c.want)
		_, calls, err := load(c.ctx, be, h, 0, 0)
		mustBe(t, "Load", err, c.want)
		if calls != 0 {
			t.Errorf("Load with a done context called fn %d times", calls)
		}
		_, err = be.Stat(c.ctx, h)
		mustBe(t, "Stat", err, c.want)
		mustBe(t, "List", be.List(c.ctx, backend.IndexFile, func(backend.FileInfo) error { return nil }), c.want)
		mustBe(t, "Remove", be.Remove(c.ctx, h), c.want)

		_, err = be.Stat(context.Background(), fresh)
		mustNotExist(t, "Stat of a file saved with a done context", err)
	}
	equal(t, "file after cancelled Remove", loadAll(t, be, h), data)
	sameSet(t, "List", list(t, be, backend.IndexFile), map[string]int64{h.Name: 5000})
}

// testCancelDuringLoad cancels while fn is reading a large file: the rest
// of the read must fail rather than hang or claim success.
func testCancelDuringLoad(t *testing.T, be backend.Backend) {
	r := rng(t)
	h := backend.Handle{Type: backend.PackFile, Name: randomName(r)}
	save(t, be, h, randomData(r, 16<<20))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readErr error
	err := be.Load(ctx, h, 0, 0, func(rd io.Reader) error {
		var one [1]byte
		if _, err := io.ReadFull(rd, one[:]); err != nil {
			return err
		}
		cancel()
		_, readErr = io.Copy(io.Discard, rd)
		return readErr
	})
	if err == nil {
		t.Fatal("Load returned nil although ctx was cancelled while fn was reading 16 MiB")
	}
	if readErr == nil {
		t.Error("reader delivered the whole file after ctx was cancelled")
	}
}

// testCancelDuringList cancels from inside fn: List must stop at once and
// return the context's error.
func testCancelDuringList(t *testing.T, be backend.Backend) {
	r := rng(t)
	for i := 0; i < 5; i++ {
		save(t, be, backend.Handle{Type: backend.KeyFile, Name: randomName(r)}, []byte("k"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := be.List(ctx, backend.KeyFile, func(backend.FileInfo) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List cancelled from fn returned %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after cancelling, want 1", calls)
	}
}
