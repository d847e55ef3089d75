// Package prune removes data no snapshot references, without stopping
// concurrent backups: plan, then execute, with deletion in two phases
// (docs/format.md, "Prune").
package prune

import (
	"cairn/repo/blobset"
	"context"
	"fmt"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/tree"
)

// TreeLoader loads trees.
type TreeLoader interface {
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
}

// Mark returns the set of blobs (trees and data) referenced by the given
// snapshots. Each tree is walked once.
func Mark(ctx context.Context, l TreeLoader, sns []*repo.Snapshot) (*blobset.Set, error) {
	used := &blobset.Set{}
	seen := map[crypto.ID]struct{}{}
	var walk func(id crypto.ID) error
	walk = func(id crypto.ID) error {
		if _, ok := seen[id]; ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		seen[id] = struct{}{}
		used.Add(id)
		t, err := l.LoadTree(ctx, id)
		if err != nil {
			return err
		}
		for _, n := range t.Nodes {
			for _, c := range n.Content {
				if !c.IsHole() {
					used.Add(c.ID)
				}
			}
			if n.Type == tree.TypeDir && n.Subtree != nil {
				if err := walk(*n.Subtree); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, sn := range sns {
		if err := walk(sn.Tree); err != nil {
			// Refuse to prune with an incomplete mark: data reachable only
			// through an unreadable tree would look unused.
			return nil, fmt.Errorf("mark snapshot %s: %w (run `check`; prune refuses to run on a damaged repository)", sn.ID.Short(), err)
		}
	}
	used.Seal()
	return used, nil
}
