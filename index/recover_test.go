package index

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// filledCache returns the dir of a closed cache holding one file.
func filledCache(t *testing.T) (string, *File) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := newRand(30)
	f := randFile(rng, 3, 3)
	if err := c.Add(randID(rng), f); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, f
}

// setKey writes one raw key into a closed cache.
func setKey(t *testing.T, dir, key string, val []byte) {
	t.Helper()
	db, err := badger.Open(badgerOptions(filepath.Join(dir, dbDir)))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), val) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// expectEmptyShared opens dir and checks it is the shared cache, empty
// and usable.
func expectEmptyShared(t *testing.T, dir string, f *File) {
	t.Helper()
	c := openTest(t, dir)
	if c.Private() {
		t.Fatalf("private: %v", c.FallbackReason())
	}
	checkFiles(t, c)
	checkGone(t, c, f.Packs...)
	rng := newRand(31)
	g := randFile(rng, 1, 2)
	if err := c.Add(randID(rng), g); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, g)
}

func TestCacheInterruptedWriteIsDropped(t *testing.T) {
	t.Parallel()
	dir, f := filledCache(t)
	// What a process killed inside Add or RemoveFile leaves behind.
	setKey(t, dir, keyDirty, nil)
	expectEmptyShared(t, dir, f)
}

func TestCacheOtherLayoutIsDropped(t *testing.T) {
	t.Parallel()
	dir, f := filledCache(t)
	setKey(t, dir, keyMeta, []byte("cairn index cache v0"))
	expectEmptyShared(t, dir, f)
}

func TestCacheKeptWhenIntact(t *testing.T) {
	t.Parallel()
	dir, f := filledCache(t)
	c := openTest(t, dir)
	checkHolds(t, c, f)
}

func TestCacheDamagedFilesRecreated(t *testing.T) {
	t.Parallel()
	damage := map[string]func(t *testing.T, db string){
		"garbage everywhere": func(t *testing.T, db string) {
			ents, err := os.ReadDir(db)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if e.Name() == "LOCK" {
					continue
				}
				if err := os.WriteFile(filepath.Join(db, e.Name()), []byte("not badger at all, sorry"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		},
		"manifest removed": func(t *testing.T, db string) {
			if err := os.Remove(filepath.Join(db, "MANIFEST")); err != nil {
				t.Fatal(err)
			}
		},
		"db is a file": func(t *testing.T, db string) {
			if err := os.RemoveAll(db); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(db, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, f := filledCache(t)
			fn(t, filepath.Join(dir, dbDir))
			expectEmptyShared(t, dir, f)
		})
	}
}
