package index

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
	"cairn/pack"
)

// NamedFile is an index file's content with its id, for AddFiles.
type NamedFile struct {
	ID   crypto.ID
	File *File
}

// Add records an index file's entries under its file id. Adding a file
// the cache already holds does nothing (file ids are hashes of the
// content). A blob listed in several packs is found in the pack of the
// file added last, and in the others once that pack is removed.
func (c *Cache) Add(fileID crypto.ID, f *File) error {
	return c.AddFiles([]NamedFile{{ID: fileID, File: f}})
}

// AddFiles is Add for several files in one write, which is much faster
// than one Add per file when index files are small (cairn writes one per
// pack). Callers filling a cache pass batches of a few hundred files: a
// batch is held in memory while it is written.
func (c *Cache) AddFiles(files []NamedFile) error {
	for _, nf := range files {
		if err := nf.File.validate(); err != nil {
			return fmt.Errorf("add index file %v: %w", nf.ID.Short(), err)
		}
	}
	return c.write(func() ([]op, error) { return c.planAdd(files) })
}

// RemoveFile drops an index file's entries: the file's marker, and every
// pack no other file in the cache lists any more, with those of its blobs
// whose entry still points into it. Removing a file the cache does not
// hold does nothing. The cache remembers which packs each file listed, so
// f may be nil: a file another host deleted can no longer be read. If f
// is given it must be the content Add was given for fileID.
//
// A pack listed by several files (a file and the one superseding it) is
// reference counted and stays until its last file is removed. A blob
// stored in several packs stays found while any of them is cached: an
// alternate entry takes over from the removed one (cache_alt.go).
func (c *Cache) RemoveFile(fileID crypto.ID, f *File) error {
	if f != nil {
		if err := f.validate(); err != nil {
			return fmt.Errorf("remove index file %v: %w", fileID.Short(), err)
		}
	}
	if err := c.write(func() ([]op, error) { return c.planRemove(fileID, f) }); err != nil {
		return fmt.Errorf("remove index file %v: %w", fileID.Short(), err)
	}
	return nil
}

// Reset empties the cache.
func (c *Cache) Reset() (err error) {
	if c.closed.Load() {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer recoverCorrupt(&err)
	return resetDB(c.db)
}

// op is one planned write: set key to val, or delete key.
type op struct {
	key, val []byte
	del      bool
}

// write plans under the write lock (plans read reference counts, which
// must not change before the ops are applied) and applies the plan.
func (c *Cache) write(plan func() ([]op, error)) (err error) {
	if c.closed.Load() {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer recoverCorrupt(&err)
	ops, err := plan()
	if err != nil || len(ops) == 0 {
		return err
	}
	return c.apply(ops)
}

// apply writes ops in one transaction, which badger commits atomically.
// A plan too large for one transaction goes through a WriteBatch, which
// is not atomic, so the dirty key brackets it: if the process dies in
// between, the next OpenCache finds the key and empties the cache instead
// of trusting half a write, and if the WriteBatch fails the cache is
// emptied at once. Either way the caller reloads, as for a new cache; a
// half-applied write could leave an entry pointing into a pack that no
// index lists, and a backup would then skip uploading a blob it needs.
func (c *Cache) apply(ops []op) error {
	txn := c.db.NewTransaction(true)
	err := applyTo(txn, ops)
	if err == nil {
		err = txn.Commit()
	}
	txn.Discard()
	if !errors.Is(err, badger.ErrTxnTooBig) {
		if err != nil {
			return fmt.Errorf("commit index cache update: %w", err)
		}
		return nil
	}
	err = c.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyDirty), nil) })
	if err == nil {
		wb := c.db.NewWriteBatch()
		err = applyTo(wb, ops)
		if err == nil {
			err = wb.Flush()
		}
		wb.Cancel()
	}
	if err == nil {
		err = c.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(keyDirty)) })
	}
	if err != nil {
		if rerr := resetDB(c.db); rerr != nil {
			return fmt.Errorf("write index cache: %w (and emptying it failed: %v)", err, rerr)
		}
		return fmt.Errorf("write index cache (emptied): %w", err)
	}
	return nil
}

// batch is what ops are applied to: *badger.Txn or *badger.WriteBatch.
type batch interface {
	Set(key, val []byte) error
	Delete(key []byte) error
}

func applyTo(b batch, ops []op) error {
	for _, o := range ops {
		var err error
		if o.del {
			err = b.Delete(o.key)
		} else {
			err = b.Set(o.key, o.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// planAdd returns the writes that add the files the cache does not hold
// yet: pack values (with reference counts one higher per new file listing
// them), blob entries of packs new to the cache, and the file markers
// last. A blob whose primary entry points into another pack becomes
// primary here and the old entry its alternate (cache_alt.go).
func (c *Cache) planAdd(files []NamedFile) ([]op, error) {
	var ops, markers []op
	packs := make(map[crypto.ID][]byte) // pack value to write, by pack
	var order []crypto.ID               // packs in first-seen order
	planned := make(map[crypto.ID]int)  // blob id -> index in ops of its primary
	err := c.db.View(func(txn *badger.Txn) error {
		seen := make(map[crypto.ID]bool, len(files))
		for _, nf := range files {
			fkey := idKey(prefixFile, nf.ID)
			if seen[nf.ID] {
				continue
			}
			seen[nf.ID] = true
			if present, err := has(txn, fkey); err != nil || present {
				if err != nil {
					return err
				}
				continue
			}
			for i := range nf.File.Packs {
				p := &nf.File.Packs[i]
				isNew, err := addPackRef(txn, packs, &order, p)
				if err != nil {
					return err
				}
				if !isNew {
					continue // its blob entries are there already
				}
				for j := range p.Blobs {
					var err error
					ops, err = planAddBlob(txn, ops, planned, p.ID, &p.Blobs[j])
					if err != nil {
						return err
					}
				}
			}
			markers = append(markers, op{key: fkey, val: fileValue(nf.File)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan index cache add: %w", err)
	}
	out := make([]op, 0, len(order)+len(ops)+len(markers))
	for _, id := range order {
		out = append(out, op{key: idKey(prefixPack, id), val: packs[id]})
	}
	out = append(out, ops...)
	return append(out, markers...), nil
}

// planAddBlob appends the writes that make pack the primary place of b.
func planAddBlob(txn *badger.Txn, ops []op, planned map[crypto.ID]int, pack crypto.ID, b *pack.Blob) ([]op, error) {
	bkey := idKey(prefixBlob, b.ID)
	var cur []byte
	if i, ok := planned[b.ID]; ok {
		cur = ops[i].val
	} else {
		var err error
		if cur, err = getCopy(txn, bkey); err != nil {
			return nil, err
		}
		if cur != nil {
			if _, err := parseBlobValue(b.ID, cur); err != nil {
				return nil, err
			}
		}
	}
	val := blobValue(b.Type, pack, b)
	if cur != nil {
		if other := valuePack(cur); other != pack {
			ops = append(ops, op{key: altKey(b.ID, other), val: withAltFlag(cur, false)})
			val = withAltFlag(val, true)
		} else {
			val = withAltFlag(val, cur[0]&altFlag != 0)
		}
	}
	planned[b.ID] = len(ops)
	return append(ops, op{key: bkey, val: val}), nil
}

// addPackRef counts one more reference to p in packs, starting from the
// stored value if the pack is already cached. A pack's content is fixed:
// a second file listing it keeps the stored blob list. It reports whether
// the pack is new to the cache and to this plan.
func addPackRef(txn *badger.Txn, packs map[crypto.ID][]byte, order *[]crypto.ID, p *PackInfo) (bool, error) {
	v, ok := packs[p.ID]
	if !ok {
		stored, err := getCopy(txn, idKey(prefixPack, p.ID))
		if err != nil {
			return false, err
		}
		*order = append(*order, p.ID)
		if stored == nil {
			packs[p.ID] = packValue(p, 1)
			return true, nil
		}
		v = stored
	}
	_, _, refs, err := parsePackHeader(p.ID, v)
	if err != nil {
		return false, err
	}
	packs[p.ID] = withRefs(v, refs+1)
	return false, nil
}

// planRemove returns the writes that remove file fileID; f, if not nil,
// is its content.
func (c *Cache) planRemove(fileID crypto.ID, f *File) ([]op, error) {
	fkey := idKey(prefixFile, fileID)
	listed := make(map[crypto.ID][]pack.Blob)
	if f != nil {
		for i := range f.Packs {
			listed[f.Packs[i].ID] = f.Packs[i].Blobs
		}
	}
	var ops []op
	err := c.db.View(func(txn *badger.Txn) error {
		v, err := getCopy(txn, fkey)
		if err != nil || v == nil {
			return err
		}
		packs, err := parseFileValue(fileID, v)
		if err != nil {
			return err
		}
		// First which packs go, so that no alternate in one of them is
		// promoted for a blob of another.
		gone := make(map[crypto.ID]bool)
		var promotes []func(map[crypto.ID]bool) []op
		for _, id := range packs {
			pops, last, err := planRemovePack(txn, id, listed[id])
			if err != nil {
				return err
			}
			if last {
				gone[id] = true
			}
			ops = append(ops, pops.ops...)
			promotes = append(promotes, pops.promotes...)
		}
		for _, p := range promotes {
			ops = append(ops, p(gone)...)
		}
		ops = append(ops, op{key: fkey, del: true})
		return nil
	})
	return ops, err
}

// packRemoval is what removing one reference to a pack writes: ops at
// once, promotes once it is known which packs go.
type packRemoval struct {
	ops      []op
	promotes []func(gone map[crypto.ID]bool) []op
}

// planRemovePack drops one reference to pack id, and, when it was the
// last (reported), the pack itself with its blobs' entries in it: a
// primary entry is replaced by an alternate in another pack (or deleted),
// an alternate entry is deleted. The blobs are those stored with the pack
// and extra (those the file lists for it), in case the two differ.
func planRemovePack(txn *badger.Txn, id crypto.ID, extra []pack.Blob) (r packRemoval, last bool, err error) {
	pkey := idKey(prefixPack, id)
	v, err := getCopy(txn, pkey)
	if err != nil || v == nil {
		return r, false, err
	}
	stored, refs, err := parsePackValue(id, v)
	if err != nil {
		return r, false, err
	}
	if refs > 1 {
		r.ops = []op{{key: pkey, val: withRefs(v, refs-1)}}
		return r, false, nil
	}
	r.ops = []op{{key: pkey, del: true}}
	done := make(map[crypto.ID]bool, len(stored.Blobs))
	for _, list := range [][]pack.Blob{stored.Blobs, extra} {
		for i := range list {
			bid := list[i].ID
			if done[bid] {
				continue
			}
			done[bid] = true
			if err := planRemoveBlob(txn, &r, id, bid); err != nil {
				return r, false, err
			}
		}
	}
	return r, true, nil
}

// planRemoveBlob plans the removal of blob bid's entry in pack id.
func planRemoveBlob(txn *badger.Txn, r *packRemoval, id, bid crypto.ID) error {
	bkey := idKey(prefixBlob, bid)
	bv, err := getCopy(txn, bkey)
	if err != nil || bv == nil {
		return err
	}
	e, err := parseBlobValue(bid, bv)
	if err != nil {
		return err
	}
	switch {
	case e.Pack != id:
		// The primary is elsewhere: this pack may hold an alternate.
		if bv[0]&altFlag != 0 {
			akey := altKey(bid, id)
			if present, err := has(txn, akey); err != nil || !present {
				return err
			}
			r.ops = append(r.ops, op{key: akey, del: true})
		}
	case bv[0]&altFlag == 0:
		r.ops = append(r.ops, op{key: bkey, del: true})
	default:
		promote, err := planPromote(txn, bid)
		if err != nil {
			return err
		}
		r.promotes = append(r.promotes, promote)
	}
	return nil
}

// has reports whether key is present.
func has(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// getCopy returns a copy of key's value, or nil if absent.
func getCopy(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}
