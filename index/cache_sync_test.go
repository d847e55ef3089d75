package index

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"cairn/internal/crypto"
)

var errMissing = errors.New("missing")

func TestCacheSync(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(50)
	repo := map[crypto.ID]*File{}
	var ids []crypto.ID
	for i := 0; i < 300; i++ { // more than one batch
		id := randID(rng)
		repo[id] = randFile(rng, 1, 2)
		ids = append(ids, id)
	}
	var loads atomic.Int64
	gone := randID(rng) // listed, then deleted by a prune before loading
	load := func(id crypto.ID) (*File, error) {
		loads.Add(1)
		if id == gone {
			return nil, nil
		}
		f, ok := repo[id]
		if !ok {
			return nil, fmt.Errorf("index file %v: %w", id.Short(), errMissing)
		}
		return f, nil
	}
	if err := c.Sync(append(ids, gone), load); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, c, ids...)
	checkCount(t, c, 600, 300)

	// Nothing changed: nothing is read.
	loads.Store(0)
	if err := c.Sync(ids, load); err != nil || loads.Load() != 0 {
		t.Fatalf("second Sync: %v, %d loads", err, loads.Load())
	}

	// A prune elsewhere: the first 10 files are merged into one new file
	// that keeps half of their packs; the rest of their packs are gone.
	merged := &File{}
	for _, id := range ids[:10] {
		merged.Packs = append(merged.Packs, repo[id].Packs...)
	}
	dropped := merged.Packs[5:]
	merged.Packs = merged.Packs[:5]
	mid := randID(rng)
	repo[mid] = merged
	listed := append([]crypto.ID{mid}, ids[10:]...)
	if err := c.Sync(listed, load); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, c, listed...)
	checkHolds(t, c, merged)
	checkGone(t, c, dropped...)
	checkCount(t, c, 600-10, 300-5)

	// An unreadable file is skipped and reported; the others get in.
	bad, good := randID(rng), randID(rng)
	repo[good] = randFile(rng, 1, 1)
	err := c.Sync(append(listed, bad, good), load)
	if !errors.Is(err, errMissing) {
		t.Fatalf("Sync with an unreadable file: %v, want the load error", err)
	}
	checkFiles(t, c, append(listed, good)...)
	checkHolds(t, c, repo[good])
}

// TestCacheSyncStopsOnAddError checks that an invalid file stops Sync
// with ErrFormat instead of hanging its loaders.
func TestCacheSyncStopsOnAddError(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(51)
	repo := map[crypto.ID]*File{}
	var ids []crypto.ID
	for i := 0; i < 600; i++ {
		id := randID(rng)
		repo[id] = randFile(rng, 1, 1)
		ids = append(ids, id)
	}
	repo[ids[3]].Packs[0].Blobs[0].Type = 9
	err := c.Sync(ids, func(id crypto.ID) (*File, error) { return repo[id], nil })
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("Sync with an invalid file: %v, want ErrFormat", err)
	}
}
