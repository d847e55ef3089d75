package fs

import (
	"context"

	"cairn/repo/tree"
	"cairn/repo/walk"
)

// subtreeAhead is how many of a directory's parent subtrees are loaded
// ahead of the walker. The walk is depth first, so at most this many
// trees per level of the current path are held.
const subtreeAhead = 8

// subtreeLoads bounds the parent trees being loaded at once.
const subtreeLoads = 4

// subtreeStartedMax bounds the trees loaded ahead of the walker by
// expansion (decoded trees average a few KiB here).
const subtreeStartedMax = 256

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
	repo  Repo
	ahead *walk.Ahead
}

func newSubtreeLoader(r Repo) *subtreeLoader {
	return &subtreeLoader{repo: r, ahead: walk.NewAhead(r, subtreeLoads, subtreeStartedMax, subtreeAhead)}
}

// wait returns once no background load is running, so that nothing uses
// the repository after the backup returned.
func (l *subtreeLoader) wait() { l.ahead.Wait() }

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

// dirPrefetch serves the parent subtrees of one directory's children in
// the walker's order, keeping up to subtreeAhead loads ahead of it.
type dirPrefetch struct {
	l     *subtreeLoader
	dirs  []*tree.Node // children of the parent tree that have a subtree
	index map[string]int
	next  int // dirs[next:] not started yet
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
	p.advance(ctx, 0)
	return p
}

// advance starts the loads of dirs[next : i+subtreeAhead].
func (p *dirPrefetch) advance(ctx context.Context, i int) {
	for ; p.next < len(p.dirs) && p.next < i+subtreeAhead; p.next++ {
		p.l.ahead.Start(ctx, *p.dirs[p.next].Subtree, false)
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
	t, err := p.l.ahead.Take(ctx, *pn.Subtree)
	if err != nil {
		return p.l.load(ctx, pn) // the error, if any, shows again there
	}
	return t
}
