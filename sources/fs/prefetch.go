package fs

import (
	"context"
	"sync"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// subtreeAhead is how many of a directory's parent subtrees are loaded
// ahead of the walker. The walk is depth first, so at most this many
// trees per level of the current path are held.
const subtreeAhead = 8

// subtreeLoads bounds the parent trees being loaded at once.
const subtreeLoads = 4

// subtreeLoader loads parent snapshot trees in the background. The walker
// is a single goroutine and on an unchanged re-backup it mostly waited for
// each directory's parent tree (read from a pack, decrypted, decoded: a
// third of the run's CPU); loading the next subdirectories' trees while the
// current one is walked takes that off the walker's path.
//
// A loaded tree's first subtreeAhead subdirectories are started at once
// too, so that when the walker descends, the trees below are already on
// their way: with loads started only as the walker entered a directory,
// the walker still waited at every level of its first descent into a
// subtree (a fifth of an unchanged bench backup's wall time).
type subtreeLoader struct {
	repo Repo
	sem  chan struct{}
	wg   sync.WaitGroup

	mu sync.Mutex
	// started holds loads started and not yet taken by the walker; those
	// started ahead of it (expand) stop at subtreeStartedMax.
	started map[crypto.ID]*treeFuture
}

// subtreeStartedMax bounds the trees loaded ahead of the walker by
// expansion (decoded trees average a few KiB here).
const subtreeStartedMax = 256

func newSubtreeLoader(r Repo) *subtreeLoader {
	return &subtreeLoader{repo: r, sem: make(chan struct{}, subtreeLoads), started: map[crypto.ID]*treeFuture{}}
}

// wait returns once no background load is running, so that nothing uses
// the repository after the backup returned.
func (l *subtreeLoader) wait() { l.wg.Wait() }

// treeFuture is one tree being loaded.
type treeFuture struct {
	id   crypto.ID
	done chan struct{}
	t    *tree.Tree
}

// load reads the tree for a directory node, or nil when there is none. A
// load failure is a repository error but must not abort a backup whose
// parent is only an optimisation, so it is treated as "no parent" for that
// subtree.
func (l *subtreeLoader) load(ctx context.Context, pn *tree.Node) *tree.Tree {
	if pn == nil || pn.Type != tree.TypeDir || pn.Subtree == nil {
		return nil
	}
	t, err := l.repo.LoadTree(ctx, *pn.Subtree)
	if err != nil {
		return nil
	}
	return t
}

// start loads id in the background, or returns the load already started.
func (l *subtreeLoader) start(ctx context.Context, id crypto.ID) *treeFuture {
	return l.startLoad(ctx, id, false)
}

// startLoad is start; ahead loads (expansion) are refused, with nil,
// past subtreeStartedMax outstanding ones.
func (l *subtreeLoader) startLoad(ctx context.Context, id crypto.ID, ahead bool) *treeFuture {
	l.mu.Lock()
	if f, ok := l.started[id]; ok {
		l.mu.Unlock()
		return f
	}
	if ahead && len(l.started) >= subtreeStartedMax {
		l.mu.Unlock()
		return nil
	}
	f := &treeFuture{id: id, done: make(chan struct{})}
	l.started[id] = f
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			close(f.done)
			return
		}
		t, err := l.repo.LoadTree(ctx, id)
		<-l.sem
		if err == nil {
			f.t = t
		}
		close(f.done)
		if err == nil {
			l.expand(ctx, t)
		}
	}()
	return f
}

// expand starts the loads of t's first subdirectories' trees.
func (l *subtreeLoader) expand(ctx context.Context, t *tree.Tree) {
	n := 0
	for _, c := range t.Nodes {
		if c.Type != tree.TypeDir || c.Subtree == nil {
			continue
		}
		if l.startLoad(ctx, *c.Subtree, true) == nil {
			return
		}
		if n++; n == subtreeAhead {
			return
		}
	}
}

// taken forgets a load the walker has consumed.
func (l *subtreeLoader) taken(id crypto.ID) {
	l.mu.Lock()
	delete(l.started, id)
	l.mu.Unlock()
}

// dirPrefetch serves the parent subtrees of one directory's children in
// the walker's order, keeping up to subtreeAhead loads ahead of it.
type dirPrefetch struct {
	l       *subtreeLoader
	dirs    []*tree.Node // children of the parent tree that have a subtree
	index   map[string]int
	next    int // dirs[next:] not started yet
	futures map[string]*treeFuture
}

// prefetch starts loading the subtrees of ptree's first child directories.
func (l *subtreeLoader) prefetch(ctx context.Context, ptree *tree.Tree) *dirPrefetch {
	p := &dirPrefetch{l: l}
	if ptree == nil {
		return p
	}
	for _, n := range ptree.Nodes {
		if n.Type == tree.TypeDir && n.Subtree != nil {
			p.dirs = append(p.dirs, n)
		}
	}
	if len(p.dirs) == 0 {
		return p
	}
	p.index = make(map[string]int, len(p.dirs))
	for i, n := range p.dirs {
		p.index[n.Name] = i
	}
	p.futures = make(map[string]*treeFuture, subtreeAhead)
	p.advance(ctx, 0)
	return p
}

// advance starts the loads of dirs[next : i+subtreeAhead].
func (p *dirPrefetch) advance(ctx context.Context, i int) {
	for ; p.next < len(p.dirs) && p.next < i+subtreeAhead; p.next++ {
		n := p.dirs[p.next]
		p.futures[n.Name] = p.l.start(ctx, *n.Subtree)
	}
}

// take returns the parent subtree for the child node pn (nil when there is
// none), waiting for its background load or loading it now.
func (p *dirPrefetch) take(ctx context.Context, pn *tree.Node) *tree.Tree {
	if pn == nil || pn.Type != tree.TypeDir || pn.Subtree == nil {
		return nil
	}
	if i, ok := p.index[pn.Name]; ok {
		p.advance(ctx, i+1)
	}
	f := p.futures[pn.Name]
	if f == nil || f.id != *pn.Subtree {
		return p.l.load(ctx, pn)
	}
	delete(p.futures, pn.Name)
	p.l.taken(f.id)
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil
	}
	if f.t == nil {
		return p.l.load(ctx, pn) // the error, if any, shows again there
	}
	return f.t
}
