package cache

import (
	"bytes"
	"context"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/backend"
	"cairn/repo/backend/mem"
	"cairn/repo/backend/test"
)

func TestSuite(t *testing.T) {
	test.RunSuite(t, func(t *testing.T) backend.Backend {
		c, err := New(mem.New(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// fakePack builds bytes shaped like a pack of blobs of type bt: enough
// for the cache to tell tree packs apart (it never decrypts).
func fakePack(bt pack.BlobType, n int) []byte {
	b := make([]byte, n)
	copy(b, packMagic)
	copy(b[pack.HeaderSize:], blobMagic)
	b[pack.HeaderSize+2] = byte(bt)
	for i := pack.HeaderSize + 3; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

func TestCachesSnapshotsAndTreePacks(t *testing.T) {
	ctx := context.Background()
	raw := mem.New()
	counting := backend.NewCounting(raw)
	c, err := New(counting, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	snap := []byte("sealed snapshot bytes")
	hs := backend.Handle{Type: backend.SnapshotFile, Name: crypto.Hash(snap).String()}
	tree := fakePack(pack.TreeBlob, 4096)
	ht := backend.Handle{Type: backend.PackFile, Name: crypto.Hash(tree).String()}
	data := fakePack(pack.DataBlob, 4096)
	hd := backend.Handle{Type: backend.PackFile, Name: crypto.Hash(data).String()}
	// Stored by another host: not in this cache yet.
	for h, b := range map[backend.Handle][]byte{hs: snap, ht: tree, hd: data} {
		if err := raw.Save(ctx, h, b); err != nil {
			t.Fatal(err)
		}
	}
	loads := func() int64 { return counting.Counts().Loads }

	for i := 0; i < 3; i++ {
		if got, err := backend.LoadAll(ctx, c, hs); err != nil || !bytes.Equal(got, snap) {
			t.Fatalf("snapshot load %d: %v", i, err)
		}
	}
	if n := loads(); n != 1 {
		t.Errorf("3 snapshot loads cost %d backend loads, want 1", n)
	}

	// A blob read from a tree pack fetches the pack; the next reads of
	// any blob in it are local.
	for i := 0; i < 3; i++ {
		got, err := backend.LoadRange(ctx, c, ht, pack.HeaderSize, 100)
		if err != nil || !bytes.Equal(got, tree[pack.HeaderSize:pack.HeaderSize+100]) {
			t.Fatalf("tree blob load %d: %v", i, err)
		}
	}
	if n := loads(); n != 1+2 {
		t.Errorf("3 tree blob reads cost %d backend loads, want 2 (range + whole pack)", n-1)
	}
	// Data packs are never cached; whole-pack reads always go to storage.
	before := loads()
	backend.LoadRange(ctx, c, hd, pack.HeaderSize, 100)
	backend.LoadRange(ctx, c, hd, pack.HeaderSize, 100)
	backend.LoadAll(ctx, c, ht)
	if n := loads() - before; n != 3 {
		t.Errorf("2 data blob reads and a whole tree pack read cost %d loads, want 3", n)
	}
	// A range past the end of a cached file is a short read.
	if _, err := backend.LoadRange(ctx, c, ht, 4000, 200); err == nil {
		t.Error("read past the end of a cached pack succeeded")
	}

	// A removal seen by List (prune on another host) drops the copy.
	if err := raw.Remove(ctx, hs); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, backend.SnapshotFile, func(backend.FileInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.LoadAll(ctx, c, hs); !backend.IsNotExist(err) {
		t.Errorf("snapshot removed elsewhere and listed since still loads: %v", err)
	}
	// Saved here: cached at once, so no load at all.
	tree2 := fakePack(pack.TreeBlob, 2048)
	h2 := backend.Handle{Type: backend.PackFile, Name: crypto.Hash(tree2).String()}
	if err := c.Save(ctx, h2, tree2); err != nil {
		t.Fatal(err)
	}
	before = loads()
	if _, err := backend.LoadRange(ctx, c, h2, pack.HeaderSize, 10); err != nil {
		t.Fatal(err)
	}
	if loads() != before {
		t.Error("a tree pack saved through the cache was loaded from storage")
	}
}

// TestDamagedDownloadNotCached: bytes that do not hash to the name never
// enter the cache.
func TestDamagedDownloadNotCached(t *testing.T) {
	ctx := context.Background()
	raw := mem.New()
	c, err := New(raw, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.SnapshotFile, Name: crypto.Hash([]byte("good")).String()}
	raw.Save(ctx, h, []byte("evil"))
	backend.LoadAll(ctx, c, h)
	raw.Save(ctx, h, []byte("good"))
	if got, _ := backend.LoadAll(ctx, c, h); string(got) != "good" {
		t.Errorf("cache kept bytes that do not match the name: %q", got)
	}
}
