package index

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
	"cairn/pack"
)

func openTest(t *testing.T, dir string) *Cache {
	t.Helper()
	c, err := OpenCacheWith(dir, Options{LockWait: 50e6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// checkHolds asserts that every blob and pack of f is found as f says.
func checkHolds(t *testing.T, c *Cache, f *File) {
	t.Helper()
	for _, p := range f.Packs {
		salt, ok, err := c.PackSalt(p.ID)
		if err != nil || !ok || salt != p.Salt {
			t.Fatalf("PackSalt(%v) = %x, %v, %v; want %x", p.ID.Short(), salt, ok, err, p.Salt)
		}
		salt, size, ok, err := c.PackHeader(p.ID)
		if err != nil || !ok || salt != p.Salt || size != p.Size {
			t.Fatalf("PackHeader(%v) = %x, %d, %v, %v; want %x, %d", p.ID.Short(), salt, size, ok, err, p.Salt, p.Size)
		}
		for _, b := range p.Blobs {
			e, ok, err := c.Lookup(b.ID)
			want := Entry{Type: b.Type, ID: b.ID, Pack: p.ID, Offset: b.Offset, Length: b.Length, RawLength: b.RawLength}
			if err != nil || !ok || e != want {
				t.Fatalf("Lookup(%v) = %+v, %v, %v; want %+v", b.ID.Short(), e, ok, err, want)
			}
			if e.Blob() != b {
				t.Fatalf("Entry.Blob() = %+v, want %+v", e.Blob(), b)
			}
			if has, err := c.Has(b.ID); err != nil || !has {
				t.Fatalf("Has(%v) = %v, %v", b.ID.Short(), has, err)
			}
		}
	}
}

// checkGone asserts that no blob of the given packs is found.
func checkGone(t *testing.T, c *Cache, packs ...PackInfo) {
	t.Helper()
	for _, p := range packs {
		if _, ok, err := c.PackSalt(p.ID); err != nil || ok {
			t.Fatalf("PackSalt(%v) found=%v err=%v, want gone", p.ID.Short(), ok, err)
		}
		for _, b := range p.Blobs {
			if e, ok, err := c.Lookup(b.ID); err != nil || ok {
				t.Fatalf("Lookup(%v) = %+v found=%v err=%v, want gone", b.ID.Short(), e, ok, err)
			}
			if has, err := c.Has(b.ID); err != nil || has {
				t.Fatalf("Has(%v) = %v, %v, want false", b.ID.Short(), has, err)
			}
		}
	}
}

func checkCount(t *testing.T, c *Cache, blobs, packs int) {
	t.Helper()
	b, p, err := c.Count()
	if err != nil || b != blobs || p != packs {
		t.Fatalf("Count() = %d, %d, %v; want %d, %d", b, p, err, blobs, packs)
	}
}

func checkFiles(t *testing.T, c *Cache, ids ...crypto.ID) {
	t.Helper()
	got, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := map[crypto.ID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files() = %v, want %v", got, want)
	}
}

func TestCacheAddLookupIterate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	c := openTest(t, dir)
	if c.Private() || c.FallbackReason() != nil {
		t.Fatalf("fresh dir: Private=%v reason=%v", c.Private(), c.FallbackReason())
	}
	rng := newRand(10)
	f1, f2 := randFile(rng, 20, 7), randFile(rng, 5, 1)
	id1, id2 := randID(rng), randID(rng)
	checkFiles(t, c)
	checkCount(t, c, 0, 0)
	if err := c.Add(id1, f1); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(id2, f2); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, f1)
	checkHolds(t, c, f2)
	checkFiles(t, c, id1, id2)
	checkCount(t, c, 145, 25)
	if _, ok, err := c.Lookup(randID(rng)); ok || err != nil {
		t.Fatalf("unknown blob: found=%v err=%v", ok, err)
	}

	// ForEachPack returns every pack whole, in id order.
	want := slices.Concat(f1.Packs, f2.Packs)
	slices.SortFunc(want, func(a, b PackInfo) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	var got []PackInfo
	if err := c.ForEachPack(func(p PackInfo) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ForEachPack differs:\n got %+v\nwant %+v", got, want)
	}
	var entries []Entry
	if err := c.ForEachBlob(func(e Entry) error { entries = append(entries, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 145 || !slices.IsSortedFunc(entries, func(a, b Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) }) {
		t.Fatalf("ForEachBlob: %d entries, sorted=%v", len(entries), slices.IsSortedFunc(entries, func(a, b Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) }))
	}
	for _, e := range entries {
		if l, _, _ := c.Lookup(e.ID); l != e {
			t.Fatalf("ForEachBlob entry %+v, Lookup %+v", e, l)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := c.ForEachBlob(func(Entry) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("ForEachBlob with failing fn: err=%v after %d calls", err, n)
	}

	// Everything survives a reopen.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = openTest(t, dir)
	if c.Private() {
		t.Fatal("reopened cache is private")
	}
	checkHolds(t, c, f1)
	checkFiles(t, c, id1, id2)
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c, f1.Packs...)
	checkFiles(t, c)
	checkCount(t, c, 0, 0)
}

func TestCacheAddIdempotentAndInvalid(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(11)
	f, id := randFile(rng, 3, 3), randID(rng)
	for range 2 {
		if err := c.Add(id, f); err != nil {
			t.Fatal(err)
		}
	}
	// One RemoveFile undoes both Adds: the second did not count the
	// packs again.
	if err := c.RemoveFile(id, f); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c, f.Packs...)
	checkCount(t, c, 0, 0)
	if err := c.RemoveFile(id, f); err != nil {
		t.Fatalf("removing an absent file: %v", err)
	}

	bad := randFile(rng, 2, 2)
	bad.Packs[1].Blobs[0].Type = 7
	if err := c.Add(randID(rng), bad); !errors.Is(err, ErrFormat) {
		t.Fatalf("Add of invalid file: %v, want ErrFormat", err)
	}
	checkCount(t, c, 0, 0)
	checkFiles(t, c)
}

func TestCacheRemoveSuperseded(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(12)
	a := randFile(rng, 2, 4)
	extra := randFile(rng, 1, 4)
	b := &File{Packs: slices.Concat(a.Packs, extra.Packs)}
	idA, idB := randID(rng), randID(rng)
	b.Supersedes = []crypto.ID{idA}
	if err := c.Add(idA, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(idB, b); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveFile(idA, a); err != nil {
		t.Fatal(err)
	}
	// B still lists all of A's packs: nothing may go.
	checkHolds(t, c, b)
	checkFiles(t, c, idB)
	checkCount(t, c, 12, 3)
	// Without the file's content: the cache remembers B's packs.
	if err := c.RemoveFile(idB, nil); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c, b.Packs...)
	checkCount(t, c, 0, 0)
	checkFiles(t, c)
}

func TestCacheRemoveAfterRepack(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(13)
	// A lists P1 and P2. A prune (on another host: A is gone when this
	// cache learns of it, so RemoveFile gets no content) keeps P2,
	// repacks one blob of P1 into P3 and writes B = {P2, P3} superseding
	// A, then deletes P1 and A.
	a := randFile(rng, 2, 3)
	p1, p2 := a.Packs[0], a.Packs[1]
	p3 := randFile(rng, 1, 1).Packs[0]
	p3.Blobs[0].ID = p1.Blobs[1].ID
	b := &File{Packs: []PackInfo{p2, p3}}
	idA, idB := randID(rng), randID(rng)
	for _, add := range []struct {
		id crypto.ID
		f  *File
	}{{idA, a}, {idB, b}} {
		if err := c.Add(add.id, add.f); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveFile(idA, nil); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, b)
	checkGone(t, c, PackInfo{ID: p1.ID, Blobs: []pack.Blob{p1.Blobs[0], p1.Blobs[2]}})
	checkCount(t, c, 4, 2)
}

func TestCacheDuplicateBlobKeepsOtherPack(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(14)
	a, b := randFile(rng, 1, 2), randFile(rng, 1, 2)
	b.Packs[0].Blobs[0].ID = a.Packs[0].Blobs[0].ID // stored twice
	idA, idB := randID(rng), randID(rng)
	if err := c.Add(idA, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(idB, b); err != nil {
		t.Fatal(err)
	}
	// The entry points into B's pack (added last): removing A must not
	// take it away.
	if err := c.RemoveFile(idA, a); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, b)
	checkGone(t, c, PackInfo{ID: a.Packs[0].ID, Blobs: a.Packs[0].Blobs[1:]})
}

func TestCacheClosed(t *testing.T) {
	t.Parallel()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var id crypto.ID
	if _, _, err := c.Lookup(id); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close: %v", err)
	}
	if _, err := c.Has(id); !errors.Is(err, ErrClosed) {
		t.Errorf("Has after Close: %v", err)
	}
	if err := c.Add(id, &File{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if _, err := c.Files(); !errors.Is(err, ErrClosed) {
		t.Errorf("Files after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestCacheConcurrentLookupAndAdd(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(15)
	files := make([]*File, 8)
	for i := range files {
		files[i] = randFile(rng, 4, 8)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(files)*2)
	for i, f := range files {
		id := randID(rng)
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- c.Add(id, f)
		}()
		go func() {
			defer wg.Done()
			for _, b := range files[(i+1)%len(files)].Packs[0].Blobs {
				if _, _, err := c.Lookup(b.ID); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkCount(t, c, 8*4*8, 8*4)
}

func TestCacheCorruptValue(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(16)
	bid, pid, fid := randID(rng), randID(rng), randID(rng)
	err := c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(idKey(prefixBlob, bid), []byte{1, 2, 3}); err != nil {
			return err
		}
		if err := txn.Set(idKey(prefixFile, fid), []byte{1, 2}); err != nil {
			return err
		}
		return txn.Set(idKey(prefixPack, pid), make([]byte, packHdrLen+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Lookup(bid); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Lookup of short value: %v, want ErrCorrupt", err)
	}
	if _, _, err := c.PackSalt(pid); !errors.Is(err, ErrCorrupt) {
		t.Errorf("PackSalt of odd-sized value: %v, want ErrCorrupt", err)
	}
	if err := c.ForEachPack(func(PackInfo) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ForEachPack over bad value: %v, want ErrCorrupt", err)
	}
	if err := c.RemoveFile(fid, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("RemoveFile with a bad marker: %v, want ErrCorrupt", err)
	}
}

func TestCacheAddFilesBatch(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(17)
	a, b, d := randFile(rng, 2, 3), randFile(rng, 1, 3), randFile(rng, 1, 1)
	// c2 lists one of a's packs as well: within one batch the pack must
	// be counted twice.
	c2 := &File{Packs: []PackInfo{a.Packs[0], randFile(rng, 1, 2).Packs[0]}}
	idA, idB, idC, idD := randID(rng), randID(rng), randID(rng), randID(rng)
	if err := c.Add(idD, d); err != nil {
		t.Fatal(err)
	}
	batch := []NamedFile{{idA, a}, {idB, b}, {idA, a}, {idC, c2}, {idD, d}}
	if err := c.AddFiles(batch); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, c, idA, idB, idC, idD)
	for _, f := range []*File{a, b, c2, d} {
		checkHolds(t, c, f)
	}
	checkCount(t, c, 6+3+2+1, 2+1+1+1)
	if err := c.RemoveFile(idA, a); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, c2) // still lists a.Packs[0]
	checkGone(t, c, a.Packs[1])
	if err := c.RemoveFile(idC, c2); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c, c2.Packs...)
	// d was added before the batch: the batch must not have counted it
	// again.
	if err := c.RemoveFile(idD, d); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c, d.Packs...)
	checkCount(t, c, 3, 1)
}

// TestCacheLargeFile covers the WriteBatch path: a file too large for one
// badger transaction.
func TestCacheLargeFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	c := openTest(t, dir)
	rng := newRand(18)
	f, id := randFile(rng, 2500, 16), randID(rng)
	if err := c.Add(id, f); err != nil {
		t.Fatal(err)
	}
	checkCount(t, c, 40000, 2500)
	if found, err := c.exists([]byte(keyDirty)); err != nil || found {
		t.Fatalf("dirty key after a completed write: %v %v", found, err)
	}
	checkHolds(t, c, &File{Packs: f.Packs[:50]})
	if err := c.RemoveFile(id, f); err != nil {
		t.Fatal(err)
	}
	checkCount(t, c, 0, 0)
	checkFiles(t, c)
}

func TestOpenCacheNeedsDir(t *testing.T) {
	t.Parallel()
	if c, err := OpenCache(""); err == nil {
		_ = c.Close()
		t.Fatal("OpenCache(\"\") succeeded; it would create caches in the working directory")
	}
}

// TestCacheHugePack covers a pack value above badger's 1 MiB value
// threshold (a pack of 30,000 small tree blobs), which badger keeps in its
// value log instead of the tree.
func TestCacheHugePack(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(19)
	f, id := randFile(rng, 1, 30000), randID(rng)
	p := &f.Packs[0]
	for j := range p.Blobs {
		p.Blobs[j].Offset, p.Blobs[j].Length, p.Blobs[j].RawLength = uint32(24+200*j), 200, 300
	}
	p.Size = int64(24 + 200*len(p.Blobs) + 100)
	if err := c.Add(id, f); err != nil {
		t.Fatal(err)
	}
	var got []PackInfo
	if err := c.ForEachPack(func(p PackInfo) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], f.Packs[0]) {
		t.Fatalf("ForEachPack returned %d packs, first equal: %v", len(got), len(got) == 1 && reflect.DeepEqual(got[0], f.Packs[0]))
	}
	checkHolds(t, c, &File{Packs: []PackInfo{{ID: f.Packs[0].ID, Salt: f.Packs[0].Salt, Size: f.Packs[0].Size, Blobs: f.Packs[0].Blobs[:100]}}})
	if err := c.RemoveFile(id, nil); err != nil {
		t.Fatal(err)
	}
	checkCount(t, c, 0, 0)
}
