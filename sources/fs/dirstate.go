package fs

import (
	"context"
	"fmt"
	"sync/atomic"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// dirState is a directory whose tree blob is being assembled. The walker
// appends its entries in name order; workers fill them in. pending counts
// the entries not yet done plus one held by the walker until the listing is
// complete; whoever brings it to zero saves the tree and releases the
// parent, so directories complete bottom-up without anyone waiting.
type dirState struct {
	path    string
	node    *tree.Node // nil for the snapshot's root tree
	pnode   *tree.Node // the same entry in the parent snapshot, or nil
	up      *dirState
	entries []*entry
	// ptree is the parent snapshot's tree of this directory and pid its
	// id: when the new listing equals it node for node, the parent's id
	// is reused without encoding and hashing the tree again.
	ptree   *tree.Tree
	pid     *crypto.ID
	pending atomic.Int64
	id      crypto.ID // the saved tree; valid once pending reached zero
}

// entry is one node of a directory; skip drops it (it vanished).
type entry struct {
	node *tree.Node
	skip bool
}

func newDirState(p string, node, pnode *tree.Node, up *dirState) *dirState {
	d := &dirState{path: p, node: node, pnode: pnode, up: up}
	if pnode != nil && pnode.Type == tree.TypeDir {
		d.pid = pnode.Subtree
	}
	d.pending.Store(1)
	return d
}

// add appends an entry; only the walker calls it.
func (d *dirState) add(n *tree.Node) *entry {
	e := &entry{node: n}
	d.entries = append(d.entries, e)
	d.pending.Add(1)
	return e
}

// release marks one entry (or the walker's listing) done, saving the tree
// when it was the last.
func (r *run) release(ctx context.Context, d *dirState) error {
	for ; d != nil; d = d.up {
		if d.pending.Add(-1) > 0 {
			return nil
		}
		t := &tree.Tree{Nodes: make([]*tree.Node, 0, len(d.entries))}
		for _, e := range d.entries {
			if !e.skip {
				t.Nodes = append(t.Nodes, e.node)
			}
		}
		var id crypto.ID
		if d.pid != nil && d.ptree != nil && sameNodes(t.Nodes, d.ptree.Nodes) {
			id = *d.pid
		} else {
			var err error
			if id, err = r.repo.SaveTree(ctx, t); err != nil {
				return &fatalError{fmt.Errorf("save tree %s: %w", d.path, err)}
			}
		}
		d.id = id
		if d.node != nil {
			d.node.Subtree = &id
			r.countDir(d, id)
		}
	}
	return nil
}

func (r *run) countDir(d *dirState, id crypto.ID) {
	r.c.dirsDone.Add(1)
	switch {
	case d.pnode == nil || d.pnode.Type != tree.TypeDir:
		r.c.dirsNew.Add(1)
	case d.pnode.Subtree != nil && *d.pnode.Subtree == id:
		r.c.dirsUnmodified.Add(1)
	default:
		r.c.dirsChanged.Add(1)
	}
}
