package repair

import (
	"context"
	"fmt"
	"path"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
)

// Damage is one file or directory a snapshot repair changed.
type Damage struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
	What     string `json:"what"`
}

// SnapshotResult says what RepairSnapshots did.
type SnapshotResult struct {
	Checked  int      `json:"checked"`
	Repaired int      `json:"repaired"`
	Damage   []Damage `json:"damage"`
	NewIDs   []string `json:"new_ids"`
}

// RepairSnapshots rewrites every snapshot that references blobs missing
// from the index: lost chunks of a file become holes (the file keeps its
// size and is marked with an error naming the lost bytes), a lost subtree
// becomes an empty directory marked likewise. The repaired snapshot is
// saved with Repaired set and Original pointing at the old one, which is
// then removed (unless dryRun). Everything undamaged stays restorable.
func RepairSnapshots(ctx context.Context, r *repo.Repository, dryRun bool) (*SnapshotResult, error) {
	sns, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	res := &SnapshotResult{}
	for _, sn := range sns {
		res.Checked++
		fx := &fixer{r: r, sn: sn, dryRun: dryRun, res: res, memo: map[crypto.ID]crypto.ID{}}
		root, changed, err := fx.tree(ctx, sn.Tree, "/")
		if err != nil {
			return res, err
		}
		if !changed {
			continue
		}
		res.Repaired++
		if dryRun {
			continue
		}
		if err := r.Flush(ctx); err != nil {
			return res, err
		}
		old := sn.ID
		nsn := *sn
		nsn.Tree = root
		nsn.Repaired = true
		if nsn.Original == nil {
			nsn.Original = &old
		}
		id, err := r.SaveSnapshot(ctx, &nsn)
		if err != nil {
			return res, err
		}
		res.NewIDs = append(res.NewIDs, id.String())
		if err := r.RemoveSnapshot(ctx, old); err != nil {
			return res, err
		}
	}
	return res, nil
}

type fixer struct {
	r      *repo.Repository
	sn     *repo.Snapshot
	dryRun bool
	res    *SnapshotResult
	memo   map[crypto.ID]crypto.ID // old tree → repaired tree (unchanged trees map to themselves)
}

func (f *fixer) has(id crypto.ID, t pack.BlobType) (bool, error) {
	e, ok, err := f.r.LookupBlob(id)
	return ok && e.Type == t, err
}

func (f *fixer) note(p, what string) {
	f.res.Damage = append(f.res.Damage, Damage{Snapshot: f.sn.ID.String(), Path: p, What: what})
}

// tree returns the repaired tree id and whether anything changed.
func (f *fixer) tree(ctx context.Context, id crypto.ID, dir string) (crypto.ID, bool, error) {
	if nid, ok := f.memo[id]; ok && nid == id {
		return id, false, nil
	}
	t, err := f.r.LoadTree(ctx, id)
	if err != nil {
		return id, false, fmt.Errorf("load tree %s at %s: %w (repair the index first if trees are missing)", id.Short(), dir, err)
	}
	out := &tree.Tree{Nodes: make([]*tree.Node, 0, len(t.Nodes))}
	changed := false
	for _, n := range t.Nodes {
		c := *n // trees are shared through the cache: never modify n
		p := path.Join(dir, n.Name)
		switch {
		case n.Type == tree.TypeDir && n.Subtree != nil:
			ok, err := f.has(*n.Subtree, pack.TreeBlob)
			if err != nil {
				return id, false, err
			}
			if !ok {
				empty, err := f.saveTree(ctx, &tree.Tree{})
				if err != nil {
					return id, false, err
				}
				c.Subtree = &empty
				c.Error = "repaired: the directory's contents were lost"
				f.note(p, "directory contents lost")
				changed = true
				break
			}
			sub, subChanged, err := f.tree(ctx, *n.Subtree, p)
			if err != nil {
				return id, false, err
			}
			if subChanged {
				c.Subtree = &sub
				changed = true
			}
		case n.Type == tree.TypeFile:
			var lost uint64
			content := make([]tree.Chunk, len(n.Content))
			for i, ch := range n.Content {
				content[i] = ch
				if ch.IsHole() {
					continue
				}
				ok, err := f.has(ch.ID, pack.DataBlob)
				if err != nil {
					return id, false, err
				}
				if !ok {
					content[i] = tree.Chunk{Size: ch.Size}
					lost += ch.Size
				}
			}
			if lost > 0 {
				c.Content = content
				c.Error = fmt.Sprintf("repaired: %d bytes were lost and read as zeros", lost)
				f.note(p, fmt.Sprintf("%d bytes lost", lost))
				changed = true
			}
		}
		out.Nodes = append(out.Nodes, &c)
	}
	if !changed {
		f.memo[id] = id
		return id, false, nil
	}
	nid, err := f.saveTree(ctx, out)
	if err != nil {
		return id, false, err
	}
	f.memo[id] = nid
	return nid, true, nil
}

func (f *fixer) saveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error) {
	if f.dryRun {
		b, err := t.Encode()
		if err != nil {
			return crypto.ID{}, err
		}
		return f.r.Key().BlobID(b), nil
	}
	return f.r.SaveTree(ctx, t)
}
