package fuse

import (
	"container/list"
	"context"
	"sync"

	"cairn/internal/crypto"
)

// blobCache is a size-bounded LRU of decrypted data blobs shared by all
// open files, with one fetch per blob in flight: a reader that wants a
// blob being fetched (by another reader or by read-ahead) waits for that
// fetch instead of starting its own.
type blobCache struct {
	ctx  context.Context
	load func(ctx context.Context, id crypto.ID, size int) ([]byte, error)
	sem  chan struct{} // bounds background fetches

	mu       sync.Mutex
	max      int64
	size     int64
	lru      *list.List // of *cached, most recent first
	m        map[crypto.ID]*list.Element
	inflight map[crypto.ID]*fetch
	st       CacheStats
}

// CacheStats counts blob cache events.
type CacheStats struct {
	Hits       int64 // served from memory
	Waits      int64 // joined a fetch already running (often read-ahead's)
	Fetches    int64 // blobs loaded from the repository
	Prefetches int64 // of Fetches, started by read-ahead
	Bytes      int64 // bytes held now
}

type cached struct {
	id   crypto.ID
	data []byte
}

type fetch struct {
	done chan struct{}
	data []byte
	err  error
}

func newBlobCache(ctx context.Context, max int64, fetchers int, load func(context.Context, crypto.ID, int) ([]byte, error)) *blobCache {
	return &blobCache{
		ctx: ctx, load: load, sem: make(chan struct{}, fetchers),
		max: max, lru: list.New(), m: map[crypto.ID]*list.Element{}, inflight: map[crypto.ID]*fetch{},
	}
}

// get returns the plaintext of blob id (size bytes), from memory or
// loaded now. The slice is shared: callers only read it.
func (c *blobCache) get(id crypto.ID, size int) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.m[id]; ok {
		c.lru.MoveToFront(e)
		c.st.Hits++
		c.mu.Unlock()
		return e.Value.(*cached).data, nil
	}
	if fe, ok := c.inflight[id]; ok {
		c.st.Waits++
		c.mu.Unlock()
		<-fe.done
		return fe.data, fe.err
	}
	fe := &fetch{done: make(chan struct{})}
	c.inflight[id] = fe
	c.st.Fetches++
	c.mu.Unlock()
	c.run(id, size, fe)
	return fe.data, fe.err
}

// prefetch starts loading blob id in the background unless it is cached
// or already being fetched. It never blocks the caller.
func (c *blobCache) prefetch(id crypto.ID, size int) {
	c.mu.Lock()
	_, ok := c.m[id]
	_, busy := c.inflight[id]
	if ok || busy || int64(size) > c.max {
		c.mu.Unlock()
		return
	}
	fe := &fetch{done: make(chan struct{})}
	c.inflight[id] = fe
	c.st.Fetches++
	c.st.Prefetches++
	c.mu.Unlock()
	go func() {
		select {
		case c.sem <- struct{}{}:
			defer func() { <-c.sem }()
			c.run(id, size, fe)
		case <-c.ctx.Done():
			c.finish(id, fe, nil, c.ctx.Err())
		}
	}()
}

func (c *blobCache) run(id crypto.ID, size int, fe *fetch) {
	data, err := c.load(c.ctx, id, size)
	c.finish(id, fe, data, err)
}

// finish publishes a fetch's result and keeps the blob if it fits.
func (c *blobCache) finish(id crypto.ID, fe *fetch, data []byte, err error) {
	fe.data, fe.err = data, err
	c.mu.Lock()
	delete(c.inflight, id)
	if err == nil && int64(len(data)) <= c.max {
		if _, ok := c.m[id]; !ok {
			c.m[id] = c.lru.PushFront(&cached{id: id, data: data})
			c.size += int64(len(data))
			c.evict()
		}
	}
	c.mu.Unlock()
	close(fe.done)
}

// evict drops least recently used blobs until the cache fits. Readers
// still copying from a dropped blob keep it alive until they finish.
func (c *blobCache) evict() {
	for c.size > c.max {
		e := c.lru.Back()
		b := e.Value.(*cached)
		c.lru.Remove(e)
		delete(c.m, b.id)
		c.size -= int64(len(b.data))
	}
}

func (c *blobCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Bytes = c.size
	return s
}
