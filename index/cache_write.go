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
// file added last.
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
// reference counted and stays until its last file is removed. One case is
// not exact: a blob stored in two packs is looked up in one of them; if
// that pack goes, Lookup reports the blob missing although the other pack
// still holds it. A miss only costs a backup a re-upload; callers that
// need the blob (restore, check) rebuild the cache before failing.
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
// them), blob entries, and the file markers last.
func (c *Cache) planAdd(files []NamedFile) ([]op, error) {
	var ops, markers []op
	packs := make(map[crypto.ID][]byte) // pack value to write, by pack
	var order []crypto.ID               // packs in first-seen order
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
				if err := addPackRef(txn, packs, &order, p); err != nil {
					return err
				}
				for j := range p.Blobs {
					b := &p.Blobs[j]
					ops = append(ops, op{key: idKey(prefixBlob, b.ID), val: blobValue(b.Type, p.ID, b)})
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

// addPackRef counts one more reference to p in packs, starting from the
// stored value if the pack is already cached. A pack's content is fixed:
// a second file listing it keeps the stored blob list.
func addPackRef(txn *badger.Txn, packs map[crypto.ID][]byte, order *[]crypto.ID, p *PackInfo) error {
	v, ok := packs[p.ID]
	if !ok {
		stored, err := getCopy(txn, idKey(prefixPack, p.ID))
		if err != nil {
			return err
		}
		*order = append(*order, p.ID)
		if stored == nil {
			packs[p.ID] = packValue(p, 1)
			return nil
		}
		v = stored
	}
	_, _, refs, err := parsePackHeader(p.ID, v)
	if err != nil {
		return err
	}
	packs[p.ID] = withRefs(v, refs+1)
	return nil
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
		for _, id := range packs {
			pops, err := planRemovePack(txn, id, listed[id])
			if err != nil {
				return err
			}
			ops = append(ops, pops...)
		}
		ops = append(ops, op{key: fkey, del: true})
		return nil
	})
	return ops, err
}

// planRemovePack drops one reference to pack id, and the pack itself with
// its blobs when it was the last. The blobs are those stored with the
// pack and extra (those the file lists for it), in case the two differ.
func planRemovePack(txn *badger.Txn, id crypto.ID, extra []pack.Blob) ([]op, error) {
	pkey := idKey(prefixPack, id)
	v, err := getCopy(txn, pkey)
	if err != nil || v == nil {
		return nil, err
	}
	stored, refs, err := parsePackValue(id, v)
	if err != nil {
		return nil, err
	}
	if refs > 1 {
		return []op{{key: pkey, val: withRefs(v, refs-1)}}, nil
	}
	ops := []op{{key: pkey, del: true}}
	done := make(map[crypto.ID]bool, len(stored.Blobs))
	for _, list := range [][]pack.Blob{stored.Blobs, extra} {
		for i := range list {
			bid := list[i].ID
			if done[bid] {
				continue
			}
			done[bid] = true
			bkey := idKey(prefixBlob, bid)
			bv, err := getCopy(txn, bkey)
			if err != nil {
				return nil, err
			}
			if bv == nil {
				continue
			}
			e, err := parseBlobValue(bid, bv)
			if err != nil {
				return nil, err
			}
			// Another pack holds the blob too and was added later:
			// its entry stays.
			if e.Pack == id {
				ops = append(ops, op{key: bkey, del: true})
			}
		}
	}
	return ops, nil
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
