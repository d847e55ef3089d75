package index

import (
	"path/filepath"
	"testing"

	"cairn/internal/crypto"
)

// TestCacheDuplicatesFollowRemovals checks the cache against a model
// under random adds and removals of index files whose packs share blobs
// (duplicates) and packs (merged files): after every step, a blob is
// found exactly when some cached file lists a pack holding it, and then
// in one of those packs. Before alternates, removing the pack a blob's
// entry pointed to lost the blob although another pack held it.
func TestCacheDuplicatesFollowRemovals(t *testing.T) {
	t.Parallel()
	c := openTest(t, filepath.Join(t.TempDir(), "cache"))
	rng := newRand(77)

	// A pool of packs whose blobs are drawn from a small pool of ids, so
	// many blobs sit in several packs (some twice in one pack's list
	// never happens in real packs, so ids are distinct within a pack).
	blobIDs := make([]crypto.ID, 40)
	for i := range blobIDs {
		blobIDs[i] = randID(rng)
	}
	var packs []PackInfo
	for range 30 {
		p := randFile(rng, 1, 4).Packs[0]
		perm := rng.Perm(len(blobIDs))
		for j := range p.Blobs {
			p.Blobs[j].ID = blobIDs[perm[j]]
		}
		packs = append(packs, p)
	}
	// Files list 1–3 packs of the pool; files may share packs.
	type file struct {
		id crypto.ID
		f  *File
	}
	var files []file
	for range 40 {
		f := &File{}
		for _, i := range rng.Perm(len(packs))[:1+rng.IntN(3)] {
			f.Packs = append(f.Packs, packs[i])
		}
		files = append(files, file{randID(rng), f})
	}

	cached := map[int]bool{}
	check := func(step int) {
		t.Helper()
		holders := map[crypto.ID]map[crypto.ID]bool{} // blob -> packs
		for i := range cached {
			for _, p := range files[i].f.Packs {
				for _, b := range p.Blobs {
					if holders[b.ID] == nil {
						holders[b.ID] = map[crypto.ID]bool{}
					}
					holders[b.ID][p.ID] = true
				}
			}
		}
		for _, id := range blobIDs {
			e, found, err := c.Lookup(id)
			if err != nil {
				t.Fatalf("step %d: Lookup: %v", step, err)
			}
			want := len(holders[id]) > 0
			if found != want {
				t.Fatalf("step %d: blob %v found=%v, want %v (held by %d packs)", step, id.Short(), found, want, len(holders[id]))
			}
			if found && !holders[id][e.Pack] {
				t.Fatalf("step %d: blob %v points into pack %v, which no cached file lists with it", step, id.Short(), e.Pack.Short())
			}
		}
	}
	for step := range 400 {
		i := rng.IntN(len(files))
		var err error
		switch {
		case cached[i] && rng.IntN(2) == 0:
			// Half the time without the content, as after another
			// host's prune.
			var f *File
			if rng.IntN(2) == 0 {
				f = files[i].f
			}
			err = c.RemoveFile(files[i].id, f)
			delete(cached, i)
		case !cached[i]:
			// Sometimes several files in one AddFiles batch.
			batch := []NamedFile{{ID: files[i].id, File: files[i].f}}
			cached[i] = true
			if j := rng.IntN(len(files)); rng.IntN(3) == 0 && !cached[j] {
				batch = append(batch, NamedFile{ID: files[j].id, File: files[j].f})
				cached[j] = true
			}
			err = c.AddFiles(batch)
		default:
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		check(step)
	}
	// Everything removed: nothing may remain, alternates included.
	for i := range cached {
		if err := c.RemoveFile(files[i].id, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkCount(t, c, 0, 0)
	n := 0
	if err := c.iterateAlts(func() { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d alternate entries left in an empty cache", n)
	}
}
