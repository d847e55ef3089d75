package walk

import (
	"context"
	"sync"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Ahead loads trees in the background for a walk that runs on one
// goroutine: reading, decrypting and decoding each tree in turn left the
// other cores idle (the backup's walk of the parent snapshot, check's walk
// of every snapshot). The walk starts the loads of trees it will visit
// soon and takes them when it gets there.
type Ahead struct {
	l      TreeLoader
	sem    chan struct{}
	max    int // loads started ahead and not yet taken
	expand int // subdirectories of a loaded tree whose loads start too
	wg     sync.WaitGroup

	mu sync.Mutex
	m  map[crypto.ID]*load // started and not yet taken
}

// load is one background load.
type load struct {
	done chan struct{}
	t    *tree.Tree
	err  error
}

// NewAhead returns an Ahead running at most loads loads at once. Starts
// marked ahead are refused while max loads are waiting to be taken; a
// loaded tree's first expand subdirectories are started ahead too.
func NewAhead(l TreeLoader, loads, max, expand int) *Ahead {
	return &Ahead{l: l, sem: make(chan struct{}, loads), max: max, expand: expand, m: map[crypto.ID]*load{}}
}

// Start loads id in the background unless it is already started. It
// reports false if it refused an ahead start.
func (a *Ahead) Start(ctx context.Context, id crypto.ID, ahead bool) bool {
	a.mu.Lock()
	if _, ok := a.m[id]; ok {
		a.mu.Unlock()
		return true
	}
	if ahead && len(a.m) >= a.max {
		a.mu.Unlock()
		return false
	}
	ld := &load{done: make(chan struct{})}
	a.m[id] = ld
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			ld.err = ctx.Err()
			close(ld.done)
			return
		}
		ld.t, ld.err = a.l.LoadTree(ctx, id)
		<-a.sem
		close(ld.done)
		if ld.err == nil {
			a.expandTree(ctx, ld.t)
		}
	}()
	return true
}

// expandTree starts the loads of t's first subdirectories.
func (a *Ahead) expandTree(ctx context.Context, t *tree.Tree) {
	n := 0
	for _, c := range t.Nodes {
		if n == a.expand {
			return
		}
		if c.Type != tree.TypeDir || c.Subtree == nil {
			continue
		}
		if !a.Start(ctx, *c.Subtree, true) {
			return
		}
		n++
	}
}

// Take returns tree id, from its background load if one was started
// (which it then forgets), or loading it now.
func (a *Ahead) Take(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	a.mu.Lock()
	ld := a.m[id]
	delete(a.m, id)
	a.mu.Unlock()
	if ld == nil {
		return a.l.LoadTree(ctx, id)
	}
	select {
	case <-ld.done:
		return ld.t, ld.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Wait returns once no background load is running. Cancel the context
// the loads were started with first, or Wait lets them finish.
func (a *Ahead) Wait() { a.wg.Wait() }
