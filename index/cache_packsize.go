package index

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
	"cairn/pack"
)

// PackHeader returns a pack's salt and stored size, for readers that fetch
// ranges of a pack larger than one blob and must not read past its end.
func (c *Cache) PackHeader(packID crypto.ID) (salt pack.Salt, size int64, found bool, err error) {
	if c.closed.Load() {
		return salt, 0, false, ErrClosed
	}
	defer recoverCorrupt(&err)
	err = c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(idKey(prefixPack, packID))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			salt, size, _, err = parsePackHeader(packID, v)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return salt, 0, false, nil
	}
	if err != nil {
		return salt, 0, false, fmt.Errorf("look up pack %v: %w", packID.Short(), err)
	}
	return salt, size, true, nil
}
