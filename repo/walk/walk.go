// Package walk traverses snapshot trees: listing, finding, diffing and
// sizing snapshots without loading more than one path of trees at a time.
package walk

import (
	"context"
	"errors"
	"fmt"
	"path"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// TreeLoader loads tree blobs.
type TreeLoader interface {
	LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error)
}

// SkipDir, returned by a WalkFunc for a directory, skips its contents.
var SkipDir = errors.New("skip this directory")

// Func is called for every node with its absolute slash path in the
// snapshot ("/home/u/file").
type Func func(p string, n *tree.Node) error

// Walk calls fn for every node under root in depth-first, name order.
func Walk(ctx context.Context, l TreeLoader, root crypto.ID, fn Func) error {
	return walk(ctx, l, root, "/", fn)
}

func walk(ctx context.Context, l TreeLoader, id crypto.ID, dir string, fn Func) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := l.LoadTree(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, n := range t.Nodes {
		p := path.Join(dir, n.Name)
		err := fn(p, n)
		if errors.Is(err, SkipDir) {
			continue
		}
		if err != nil {
			return err
		}
		if n.Type == tree.TypeDir && n.Subtree != nil {
			if err := walk(ctx, l, *n.Subtree, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Lookup resolves an absolute slash path in a snapshot to its node; "/"
// yields a synthetic directory node for the root.
func Lookup(ctx context.Context, l TreeLoader, root crypto.ID, p string) (*tree.Node, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		r := root
		return &tree.Node{Name: "/", Type: tree.TypeDir, Mode: 0o755, Subtree: &r}, nil
	}
	id := root
	var node *tree.Node
	for _, part := range splitPath(p) {
		if node != nil {
			if node.Type != tree.TypeDir || node.Subtree == nil {
				return nil, fmt.Errorf("%s: not a directory", p)
			}
			id = *node.Subtree
		}
		t, err := l.LoadTree(ctx, id)
		if err != nil {
			return nil, err
		}
		node = t.Find(part)
		if node == nil {
			return nil, fmt.Errorf("%s: no such file or directory in snapshot", p)
		}
	}
	return node, nil
}

func splitPath(p string) []string {
	var parts []string
	for p != "/" && p != "." && p != "" {
		dir, file := path.Split(p)
		parts = append([]string{file}, parts...)
		p = path.Clean(dir)
	}
	return parts
}
