package index

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
	"cairn/pack"
)

// Add records an index file's entries under its file id. Adding a file
// the cache already holds does nothing (file ids are hashes of the
// content). A blob listed in several packs is found in the pack of the
// file added last.
//
// All writes go in one WriteBatch. The dirty key brackets them: if the
// process dies in between, the next OpenCache finds it and empties the
// cache instead of trusting a half-written file (the caller then reloads
// everything, as for a new cache).
func (c *Cache) Add(fileID crypto.ID, f *File) (err error) {
	if err := f.validate(); err != nil {
		return fmt.Errorf("add index file %v: %w", fileID.Short(), err)
	}
	return c.write("add", fileID, func() error { return c.add(fileID, f) })
}

// RemoveFile drops an index file's entries: the file's marker, and every
// pack no other file in the cache lists any more, with those of its blobs
// whose entry still points into it. Removing a file the cache does not
// hold does nothing. f must be the content Add was given for fileID.
//
// A pack listed by several files (a file and the one superseding it) is
// reference counted and stays until its last file is removed. One case is
// not exact: a blob stored in two packs is looked up in one of them; if
// that pack goes, Lookup reports the blob missing although the other pack
// still holds it. A miss only costs a backup a re-upload; callers that
// need the blob (restore, check) rebuild the cache before failing.
func (c *Cache) RemoveFile(fileID crypto.ID, f *File) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("remove index file %v: %w", fileID.Short(), err)
	}
	return c.write("remove", fileID, func() error { return c.remove(fileID, f) })
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

// write runs op for fileID under the write lock, bracketed by the dirty
// key. If op fails, the cache's content is unknown: it is emptied right
// away so that no stale entry can be found (an entry pointing into a pack
// that no index lists would let a backup skip uploading a blob it needs).
func (c *Cache) write(what string, fileID crypto.ID, op func() error) (err error) {
	if c.closed.Load() {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer recoverCorrupt(&err)
	err = c.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyDirty), nil) })
	if err == nil {
		err = op()
	}
	if err == nil {
		err = c.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(keyDirty)) })
	}
	if err != nil {
		if rerr := resetDB(c.db); rerr != nil {
			return fmt.Errorf("%s index file %v: %w (and emptying the cache failed: %v)", what, fileID.Short(), err, rerr)
		}
		return fmt.Errorf("%s index file %v (cache emptied): %w", what, fileID.Short(), err)
	}
	return nil
}

func (c *Cache) add(fileID crypto.ID, f *File) error {
	fkey := idKey(prefixFile, fileID)
	present, err := c.exists(fkey)
	if err != nil || present {
		return err
	}
	// Reference counts of the packs already present.
	refs := make([]uint32, len(f.Packs))
	old := make([][]byte, len(f.Packs))
	err = c.db.View(func(txn *badger.Txn) error {
		for i := range f.Packs {
			id := f.Packs[i].ID
			item, err := txn.Get(idKey(prefixPack, id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if _, _, refs[i], err = parsePackHeader(id, v); err != nil {
				return err
			}
			old[i] = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read pack refs: %w", err)
	}
	wb := c.db.NewWriteBatch()
	defer wb.Cancel()
	for i := range f.Packs {
		p := &f.Packs[i]
		// A pack's content is fixed: a second file listing it keeps the
		// stored blob list and only counts one more reference.
		pv := packValue(p, 1)
		if old[i] != nil {
			pv = withRefs(old[i], refs[i]+1)
		}
		if err := wb.Set(idKey(prefixPack, p.ID), pv); err != nil {
			return fmt.Errorf("write pack %v: %w", p.ID.Short(), err)
		}
		for j := range p.Blobs {
			b := &p.Blobs[j]
			if err := wb.Set(idKey(prefixBlob, b.ID), blobValue(b.Type, p.ID, b)); err != nil {
				return fmt.Errorf("write blob %v: %w", b.ID.Short(), err)
			}
		}
	}
	if err := wb.Set(fkey, fileMarker); err != nil {
		return fmt.Errorf("write file marker: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

func (c *Cache) remove(fileID crypto.ID, f *File) error {
	fkey := idKey(prefixFile, fileID)
	present, err := c.exists(fkey)
	if err != nil || !present {
		return err
	}
	wb := c.db.NewWriteBatch()
	defer wb.Cancel()
	err = c.db.View(func(txn *badger.Txn) error {
		for i := range f.Packs {
			if err := removePack(txn, wb, &f.Packs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Delete(fkey); err != nil {
		return fmt.Errorf("delete file marker: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// removePack drops one reference to p, and p itself with its blobs when
// it was the last. The blobs are those stored with the pack and those f
// lists for it, in case the two ever differ.
func removePack(txn *badger.Txn, wb *badger.WriteBatch, p *PackInfo) error {
	pkey := idKey(prefixPack, p.ID)
	item, err := txn.Get(pkey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read pack %v: %w", p.ID.Short(), err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return fmt.Errorf("read pack %v: %w", p.ID.Short(), err)
	}
	stored, refs, err := parsePackValue(p.ID, v)
	if err != nil {
		return err
	}
	if refs > 1 {
		return wb.Set(pkey, withRefs(v, refs-1))
	}
	if err := wb.Delete(pkey); err != nil {
		return fmt.Errorf("delete pack %v: %w", p.ID.Short(), err)
	}
	for _, list := range [][]pack.Blob{stored.Blobs, p.Blobs} {
		for i := range list {
			if err := removeBlobIn(txn, wb, list[i].ID, p.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeBlobIn deletes a blob's entry if it points into packID.
func removeBlobIn(txn *badger.Txn, wb *badger.WriteBatch, id, packID crypto.ID) error {
	bkey := idKey(prefixBlob, id)
	item, err := txn.Get(bkey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read blob %v: %w", id.Short(), err)
	}
	var e Entry
	if err := item.Value(func(v []byte) error {
		e, err = parseBlobValue(id, v)
		return err
	}); err != nil {
		return err
	}
	if e.Pack != packID {
		return nil
	}
	if err := wb.Delete(bkey); err != nil {
		return fmt.Errorf("delete blob %v: %w", id.Short(), err)
	}
	return nil
}
