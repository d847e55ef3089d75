package index

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
	"cairn/pack"
)

// Lookup returns where a blob is stored.
func (c *Cache) Lookup(id crypto.ID) (e Entry, found bool, err error) {
	if c.closed.Load() {
		return Entry{}, false, ErrClosed
	}
	defer recoverCorrupt(&err)
	var key [keyIDLen]byte
	key[0] = prefixBlob
	copy(key[1:], id[:])
	err = c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key[:])
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			e, err = parseBlobValue(id, v)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("look up blob %v: %w", id.Short(), err)
	}
	return e, true, nil
}

// Has reports whether a blob is in the cache, without decoding its entry:
// the question a backup asks of every chunk.
func (c *Cache) Has(id crypto.ID) (found bool, err error) {
	if c.closed.Load() {
		return false, ErrClosed
	}
	var key [keyIDLen]byte
	key[0] = prefixBlob
	copy(key[1:], id[:])
	found, err = c.exists(key[:])
	if err != nil {
		return false, fmt.Errorf("look up blob %v: %w", id.Short(), err)
	}
	return found, nil
}

// PackSalt returns a pack's salt.
func (c *Cache) PackSalt(packID crypto.ID) (salt pack.Salt, found bool, err error) {
	salt, _, found, err = c.PackHeader(packID)
	return salt, found, err
}

// exists reports whether key is present.
func (c *Cache) exists(key []byte) (found bool, err error) {
	defer recoverCorrupt(&err)
	err = c.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(key)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Files returns the ids of the index files the cache holds.
func (c *Cache) Files() (map[crypto.ID]bool, error) {
	files := make(map[crypto.ID]bool)
	err := c.iterate(prefixFile, false, func(id crypto.ID, _ []byte) error {
		files[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cached index files: %w", err)
	}
	return files, nil
}

// ForEachPack calls fn for every pack in the cache, with its blobs, in
// pack id order, holding one pack in memory at a time. fn may keep the
// PackInfo. An error from fn stops the iteration and is returned as is.
func (c *Cache) ForEachPack(fn func(PackInfo) error) error {
	return c.iterate(prefixPack, true, func(id crypto.ID, v []byte) error {
		p, _, err := parsePackValue(id, v)
		if err != nil {
			return err
		}
		return fn(p)
	})
}

// ForEachBlob calls fn for every blob entry in the cache, in blob id
// order, holding one entry in memory at a time. An error from fn stops
// the iteration and is returned as is.
func (c *Cache) ForEachBlob(fn func(Entry) error) error {
	return c.iterate(prefixBlob, true, func(id crypto.ID, v []byte) error {
		e, err := parseBlobValue(id, v)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// Count returns the number of blob entries and packs. It walks the keys
// (no values), so it takes time proportional to the cache's size: about a
// second per few million blobs.
func (c *Cache) Count() (blobs, packs int, err error) {
	count := func(n *int) func(crypto.ID, []byte) error {
		return func(crypto.ID, []byte) error { *n++; return nil }
	}
	if err = c.iterate(prefixBlob, false, count(&blobs)); err != nil {
		return 0, 0, fmt.Errorf("count blobs: %w", err)
	}
	if err = c.iterate(prefixPack, false, count(&packs)); err != nil {
		return 0, 0, fmt.Errorf("count packs: %w", err)
	}
	return blobs, packs, nil
}

// iterate calls fn with the id and (if values) the value of every key
// with the given prefix. The value is only valid during the call.
func (c *Cache) iterate(prefix byte, values bool, fn func(crypto.ID, []byte) error) (err error) {
	if c.closed.Load() {
		return ErrClosed
	}
	// A panic in fn is the caller's bug, not a damaged cache: let it
	// through instead of reporting ErrCorrupt.
	inFn := false
	defer func() {
		if inFn {
			return
		}
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	call := func(id crypto.ID, v []byte) error {
		inFn = true
		err := fn(id, v)
		inFn = false
		return err
	}
	return c.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefix}
		// Values are read one at a time inside the loop; prefetching
		// would only hold more of them in memory at once.
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			id, err := idFromKey(item.Key())
			if err != nil {
				return err
			}
			if !values {
				err = call(id, nil)
			} else {
				err = item.Value(func(v []byte) error { return call(id, v) })
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
