// Package test is the conformance suite every backend.Backend runs: it
// checks the obligations written on the interface (atomic saves, read after
// write, partial reads, List's once-per-file rule, missing files,
// cancellation, concurrency). Backends call RunSuite from their own tests.
package test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"cairn/repo/backend"
)

// RunSuite runs every conformance test against backends made by newBackend.
// newBackend is called once per subtest and must return an empty backend
// that does not share files with the others; it should register its own
// cleanup. Subtests run in parallel, so newBackend must be safe for
// concurrent use. The suite closes each backend it gets.
func RunSuite(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, be backend.Backend)
	}{
		{"Location", testLocation},
		{"SaveLoadStat", testSaveLoadStat},
		{"Config", testConfig},
		{"Missing", testMissing},
		{"InvalidHandle", testInvalidHandle},
		{"PartialLoad", testPartialLoad},
		{"LoadPastEnd", testLoadPastEnd},
		{"LoadCallback", testLoadCallback},
		{"Overwrite", testOverwrite},
		{"List", testList},
		{"ListCallbackError", testListCallbackError},
		{"EmptyFile", testEmptyFile},
		{"LargeFile", testLargeFile},
		{"ConcurrentDistinct", testConcurrentDistinct},
		{"ConcurrentSameName", testConcurrentSameName},
		{"Cancelled", testCancelled},
		{"CancelDuringLoad", testCancelDuringLoad},
		{"CancelDuringList", testCancelDuringList},
	}
	// The group makes RunSuite return only once every parallel subtest
	// has finished, so callers may check or tear down right after it.
	t.Run("conformance", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// Subtests are independent (one backend each) and mostly
				// wait on fsync or the network, so they overlap well.
				t.Parallel()
				be := newBackend(t)
				defer func() {
					if err := be.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}()
				tc.fn(t, be)
			})
		}
	})
}

// rng returns a deterministic generator per test, so a failure replays.
func rng(t *testing.T) *rand.Rand {
	var seed [32]byte
	copy(seed[:], t.Name())
	return rand.New(rand.NewChaCha8(seed))
}

// randomName returns 64 hex digits, the shape of real ids.
func randomName(r *rand.Rand) string {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// randomData returns n pseudo-random bytes.
func randomData(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// save stores data under h and fails the test on error.
func save(t *testing.T, be backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatalf("Save(%v): %v", h, err)
	}
}

// loadAll reads h and fails the test on error.
func loadAll(t *testing.T, be backend.Backend, h backend.Handle) []byte {
	t.Helper()
	b, err := backend.LoadAll(context.Background(), be, h)
	if err != nil {
		t.Fatalf("LoadAll(%v): %v", h, err)
	}
	return b
}

// load reads length bytes at offset with an idempotent callback: each call
// starts from an empty buffer, so a backend that calls it again (on a
// retry) gets the same result.
func load(ctx context.Context, be backend.Backend, h backend.Handle, length int, offset int64) ([]byte, int, error) {
	var buf []byte
	calls := 0
	err := be.Load(ctx, h, length, offset, func(rd io.Reader) error {
		calls++
		b, err := io.ReadAll(rd)
		buf = b
		return err
	})
	return buf, calls, err
}

// list returns name → size for every file of type t, failing the test if
// a name is reported twice.
func list(t *testing.T, be backend.Backend, ft backend.FileType) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := be.List(context.Background(), ft, func(fi backend.FileInfo) error {
		if _, dup := got[fi.Name]; dup {
			t.Errorf("List(%s) reported %q twice", ft, fi.Name)
		}
		got[fi.Name] = fi.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%s): %v", ft, err)
	}
	return got
}

// sameSet fails the test unless got holds exactly want.
func sameSet(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	for n, sz := range want {
		g, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, n)
		case g != sz:
			t.Errorf("%s: %s has size %d, want %d", what, n, g, sz)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: unexpected %s", what, n)
		}
	}
}

// equal fails the test unless got equals want, without dumping megabytes.
func equal(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}

// mustNotExist fails the test unless err says the file does not exist.
func mustNotExist(t *testing.T, what string, err error) {
	t.Helper()
	if !backend.IsNotExist(err) {
		t.Errorf("%s: got error %v, want one wrapping backend.ErrNotExist", what, err)
	}
}

// mustBe fails the test unless errors.Is(err, target).
func mustBe(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// sortedKeys returns m's keys in order, for stable messages.
func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
