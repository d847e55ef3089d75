package check

import (
	"context"
	"sync"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/tree"
)

// treeAhead loads the trees the snapshot walk will visit next in the
// background: the walk is depth first on one goroutine, and loading each
// tree in turn (read, decrypt, decompress, decode) left the second core
// idle for the whole walk, which runs after the data has been read.
type treeAhead struct {
	r   *repo.Repository
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	m   map[crypto.ID]*treeLoad // started and not yet taken
}

// treeLoad is one background load.
type treeLoad struct {
	done chan struct{}
	t    *tree.Tree
	err  error
}

const (
	treeAheadLoads = 4   // loads running at once
	treeAheadMax   = 256 // loads started and not yet taken
)

func newTreeAhead(r *repo.Repository) *treeAhead {
	return &treeAhead{r: r, sem: make(chan struct{}, treeAheadLoads), m: map[crypto.ID]*treeLoad{}}
}

// start loads id in the background unless it is already started or too
// many are waiting to be taken (the walk then loads it itself).
func (a *treeAhead) start(ctx context.Context, id crypto.ID) {
	a.mu.Lock()
	if _, ok := a.m[id]; ok || len(a.m) >= treeAheadMax {
		a.mu.Unlock()
		return
	}
	l := &treeLoad{done: make(chan struct{})}
	a.m[id] = l
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(l.done)
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			l.err = ctx.Err()
			return
		}
		l.t, l.err = a.r.LoadTree(ctx, id)
		<-a.sem
	}()
}

// load returns tree id, from its background load if one was started.
func (a *treeAhead) load(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	a.mu.Lock()
	l := a.m[id]
	delete(a.m, id)
	a.mu.Unlock()
	if l == nil {
		return a.r.LoadTree(ctx, id)
	}
	select {
	case <-l.done:
		return l.t, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wait returns once no background load is running.
func (a *treeAhead) wait() { a.wg.Wait() }
