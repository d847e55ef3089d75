package copy

import (
	"context"
	"slices"

	"golang.org/x/sync/errgroup"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/tree"
)

// tree copies a source tree, its subtrees and file contents, and returns
// the destination tree id.
func (c *copier) tree(ctx context.Context, id crypto.ID) (crypto.ID, error) {
	if to, ok := c.lookup(c.trees, id); ok {
		return to, nil
	}
	t, err := c.src.LoadTree(ctx, id)
	if err != nil {
		return crypto.ID{}, err
	}
	// LoadTree's result is shared through the tree cache: copy nodes.
	out := &tree.Tree{Nodes: make([]*tree.Node, len(t.Nodes))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Workers)
	for i, n := range t.Nodes {
		nn := *n
		out.Nodes[i] = &nn
		if n.Subtree != nil {
			sub, err := c.tree(ctx, *n.Subtree)
			if err != nil {
				_ = g.Wait()
				return crypto.ID{}, err
			}
			nn.Subtree = &sub
		}
		nn.Content = slices.Clone(n.Content)
		for j, ch := range nn.Content {
			if ch.IsHole() {
				continue
			}
			g.Go(func() error {
				to, err := c.blob(gctx, ch.ID)
				nn.Content[j].ID = to
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return crypto.ID{}, err
	}
	to, err := c.dst.SaveTree(ctx, out)
	if err != nil {
		return crypto.ID{}, err
	}
	c.mu.Lock()
	c.trees[id] = to
	c.mu.Unlock()
	return to, nil
}

// seed learns translations from the latest earlier copy of the same host
// and paths: walking its source and destination trees side by side maps
// unchanged directories and files without reading any data.
func (c *copier) seed(ctx context.Context, sn *repo.Snapshot, existing []*repo.Snapshot) error {
	key := groupKey(sn)
	if c.seeded[key] {
		return nil
	}
	c.seeded[key] = true
	var prev *repo.Snapshot
	for _, d := range existing {
		if d.Original != nil && groupKey(d) == key && (prev == nil || d.Time.After(prev.Time)) {
			prev = d
		}
	}
	if prev == nil {
		return nil
	}
	orig, err := c.src.LoadSnapshot(ctx, *prev.Original)
	if err != nil {
		return nil // the source snapshot is gone (forgotten): nothing to learn
	}
	return c.walkPair(ctx, orig.Tree, prev.Tree)
}

// walkPair records that source tree s was copied as destination tree d,
// and recurses into same-named entries.
func (c *copier) walkPair(ctx context.Context, s, d crypto.ID) error {
	if _, ok := c.trees[s]; ok {
		return nil
	}
	c.trees[s] = d
	st, err := c.src.LoadTree(ctx, s)
	if err != nil {
		return err
	}
	dt, err := c.dst.LoadTree(ctx, d)
	if err != nil {
		return err
	}
	for _, sn := range st.Nodes {
		dn := dt.Find(sn.Name)
		if dn == nil || dn.Type != sn.Type {
			continue
		}
		if sn.Subtree != nil && dn.Subtree != nil {
			if err := c.walkPair(ctx, *sn.Subtree, *dn.Subtree); err != nil {
				return err
			}
		}
		if len(sn.Content) != len(dn.Content) {
			continue
		}
		for i, ch := range sn.Content {
			if dc := dn.Content[i]; !ch.IsHole() && !dc.IsHole() && ch.Size == dc.Size {
				c.blobs[ch.ID] = dc.ID
			}
		}
	}
	return nil
}
