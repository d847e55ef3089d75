package repo

import (
	"context"
	"fmt"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// SaveTree encodes and stores a tree blob and returns its id.
func (r *Repository) SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error) {
	data, err := t.Encode()
	if err != nil {
		return crypto.ID{}, err
	}
	return r.SaveBlob(ctx, pack.TreeBlob, data)
}

// LoadTree loads and decodes a tree blob. The returned tree may be shared
// with other callers through the tree cache: do not modify it.
func (r *Repository) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	if t := r.treeCache.get(id); t != nil {
		return t, nil
	}
	data, err := r.LoadBlob(ctx, pack.TreeBlob, id, nil)
	if err != nil {
		return nil, fmt.Errorf("load tree %s: %w", id.Short(), err)
	}
	t, err := tree.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	r.treeCache.put(id, t, len(data)*3)
	return t, nil
}
