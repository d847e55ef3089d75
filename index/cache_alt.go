package index

import (
	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
)

// A blob stored in several packs (two hosts saved the same chunk at the
// same time, or a prune repacked it while a backup saved it again) has
// one primary entry under prefixBlob, pointing into the pack of the file
// added last, and one alternate entry per other pack under prefixAlt.
// When the primary's pack is removed an alternate is promoted, so the
// cache can follow prune and repair incrementally instead of being
// rebuilt: it never reports a blob missing that a cached pack holds.
//
// The primary value's type byte carries altFlag while alternates exist,
// so removing a pack costs an iteration only for the rare duplicated
// blob.
const (
	prefixAlt = 'a'  // blob id | pack id -> blobValue
	altFlag   = 0x80 // in a primary's type byte: alternates exist
	altKeyLen = 1 + 2*crypto.IDSize
)

// altKey is the key of blob's alternate entry in pack.
func altKey(blob, pack crypto.ID) []byte {
	k := make([]byte, altKeyLen)
	k[0] = prefixAlt
	copy(k[1:], blob[:])
	copy(k[1+crypto.IDSize:], pack[:])
	return k
}

// withAltFlag returns a copy of a blob value with altFlag set or cleared.
func withAltFlag(v []byte, set bool) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	if set {
		out[0] |= altFlag
	} else {
		out[0] &^= altFlag
	}
	return out
}

// valuePack returns the pack id of a blob value of the right length.
func valuePack(v []byte) crypto.ID {
	var id crypto.ID
	copy(id[:], v[1:])
	return id
}

// planPromote returns the writes that replace blob's primary entry, which
// points into a pack being removed, with one of its alternates in a pack
// that stays, or delete it when there is none. gone holds the packs this
// plan removes; their alternates are deleted when their own pack is
// processed.
func planPromote(txn *badger.Txn, blob crypto.ID) (func(gone map[crypto.ID]bool) []op, error) {
	type alt struct {
		key, val []byte
	}
	var alts []alt
	opts := badger.DefaultIteratorOptions
	opts.Prefix = append([]byte{prefixAlt}, blob[:]...)
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		if _, err := parseBlobValue(blob, v); err != nil {
			return nil, err
		}
		alts = append(alts, alt{key: item.KeyCopy(nil), val: v})
	}
	bkey := idKey(prefixBlob, blob)
	return func(gone map[crypto.ID]bool) []op {
		var keep []alt
		for _, a := range alts {
			if !gone[valuePack(a.val)] {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			return []op{{key: bkey, del: true}}
		}
		return []op{
			{key: bkey, val: withAltFlag(keep[0].val, len(keep) > 1)},
			{key: keep[0].key, del: true},
		}
	}, nil
}

// iterateAlts calls fn once per alternate entry; for tests.
func (c *Cache) iterateAlts(fn func()) error {
	return c.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixAlt}
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			fn()
		}
		return nil
	})
}
