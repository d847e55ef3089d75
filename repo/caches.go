package repo

import (
	"container/list"
	"sync"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// keyCache keeps the AEADs of recently used packs: deriving one costs a
// BLAKE3 derivation and an AES key schedule per blob otherwise.
type keyCache struct {
	mu     sync.Mutex
	master *crypto.Key
	max    int
	m      map[crypto.ID]*crypto.AEAD
}

func newKeyCache(master *crypto.Key, max int) keyCache {
	return keyCache{master: master, max: max, m: map[crypto.ID]*crypto.AEAD{}}
}

func (c *keyCache) get(id crypto.ID) *crypto.AEAD {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *keyCache) put(id crypto.ID, salt pack.Salt) *crypto.AEAD {
	a := pack.KeyFor(c.master, salt)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary entry: cheap to re-derive
			delete(c.m, k)
			break
		}
	}
	c.m[id] = a
	return a
}

// treeCache is a size-bounded LRU of decoded trees: restore, ls, diff and
// the archiver's parent walk load the same trees repeatedly.
type treeCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List
	m     map[crypto.ID]*list.Element
}

type treeCacheEntry struct {
	id   crypto.ID
	t    *tree.Tree
	size int
}

func newTreeCache(max int) treeCache {
	return treeCache{max: max, order: list.New(), m: map[crypto.ID]*list.Element{}}
}

func (c *treeCache) get(id crypto.ID) *tree.Tree {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*treeCacheEntry).t
	}
	return nil
}

func (c *treeCache) put(id crypto.ID, t *tree.Tree, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok || size > c.max/4 {
		return
	}
	c.m[id] = c.order.PushFront(&treeCacheEntry{id: id, t: t, size: size})
	c.size += size
	for c.size > c.max {
		e := c.order.Back()
		ent := e.Value.(*treeCacheEntry)
		c.order.Remove(e)
		delete(c.m, ent.id)
		c.size -= ent.size
	}
}
