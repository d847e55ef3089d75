package scan

import (
	"context"
	"path"
	"sort"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/tree"
)

// saveSnapshots stores every snapshot whose trees and data are all in the
// rebuilt index, last, as a backup would: a snapshot exists only once
// everything it references is durable. The others are reported as
// incomplete (and stored only with KeepIncomplete).
func (b *rebuilder) saveSnapshots(ctx context.Context) error {
	var sns []*repo.Snapshot
	raw := map[crypto.ID][]byte{}
	for name, data := range b.meta[backend.SnapshotFile] {
		id, err := crypto.ParseID(name)
		if err != nil {
			continue
		}
		sn, err := repo.DecodeSnapshot(b.r.FileAEAD(), data)
		if err != nil {
			continue
		}
		sn.ID = id
		sns = append(sns, sn)
		raw[id] = data
	}
	repo.SortSnapshots(sns)
	pc := &presence{r: b.r, complete: map[crypto.ID]bool{}}
	for _, sn := range sns {
		missing, first, err := pc.check(ctx, sn.Tree)
		if err != nil {
			return err
		}
		keep := missing == 0 || b.opts.KeepIncomplete
		if missing > 0 {
			b.rep.IncompleteSnapshots = append(b.rep.IncompleteSnapshots, IncompleteSnapshot{
				ID: sn.ID, Time: sn.Time, Paths: sn.Paths, MissingBlobs: missing, FirstMissing: first, Kept: keep})
		}
		if !keep {
			continue
		}
		if err := b.target.Save(ctx, backend.Handle{Type: backend.SnapshotFile, Name: sn.ID.String()}, raw[sn.ID]); err != nil {
			return err
		}
		if missing == 0 {
			b.rep.Snapshots = append(b.rep.Snapshots, sn.ID)
		}
	}
	sort.Slice(b.rep.IncompleteSnapshots, func(i, j int) bool {
		return b.rep.IncompleteSnapshots[i].Time.Before(b.rep.IncompleteSnapshots[j].Time)
	})
	return nil
}

// presence checks that a snapshot's trees and data blobs are indexed.
type presence struct {
	r        *repo.Repository
	complete map[crypto.ID]bool // trees known to be complete
	missing  int
	first    string
}

func (p *presence) check(ctx context.Context, root crypto.ID) (int, string, error) {
	p.missing, p.first = 0, ""
	_, err := p.tree(ctx, root, "/")
	return p.missing, p.first, err
}

func (p *presence) lost(where string) {
	if p.missing == 0 {
		p.first = where
	}
	p.missing++
}

func (p *presence) has(id crypto.ID) (bool, error) {
	_, ok, err := p.r.LookupBlob(id)
	return ok, err
}

// tree reports whether the tree at id is complete.
func (p *presence) tree(ctx context.Context, id crypto.ID, dir string) (bool, error) {
	if p.complete[id] {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ok, err := p.has(id); err != nil || !ok {
		p.lost(dir)
		return false, err
	}
	t, err := p.r.LoadTree(ctx, id)
	if err != nil {
		p.lost(dir)
		return false, nil
	}
	ok := true
	for _, n := range t.Nodes {
		where := path.Join(dir, n.Name)
		for _, c := range n.Content {
			if c.ID.IsNull() {
				continue
			}
			has, err := p.has(c.ID)
			if err != nil {
				return false, err
			}
			if !has {
				p.lost(where)
				ok = false
			}
		}
		if n.Type == tree.TypeDir && n.Subtree != nil {
			sub, err := p.tree(ctx, *n.Subtree, where)
			if err != nil {
				return false, err
			}
			ok = ok && sub
		}
	}
	if ok {
		p.complete[id] = true
	}
	return ok, nil
}
