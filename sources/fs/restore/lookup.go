package restore

import (
	"context"
	"fmt"
	"path"
	"strings"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Lookup resolves a slash path inside a snapshot's root tree to its node.
// "/" (or "") gives a synthetic directory node named "/" whose Subtree is
// root. A missing path gives an error wrapping ErrNotFound, a path through
// something that is not a directory one wrapping ErrNotDir.
func Lookup(ctx context.Context, l Loader, root crypto.ID, snapPath string) (*tree.Node, error) {
	comps := splitPath(snapPath)
	dir := root
	node := &tree.Node{Name: "/", Type: tree.TypeDir, Subtree: &dir}
	for i, name := range comps {
		if node.Type != tree.TypeDir {
			return nil, fmt.Errorf("lookup %s: %s: %w", snapPath, joinPath(comps[:i]), ErrNotDir)
		}
		t, err := l.LoadTree(ctx, *node.Subtree)
		if err != nil {
			return nil, fmt.Errorf("lookup %s: load tree of %s: %w", snapPath, joinPath(comps[:i]), err)
		}
		next := t.Find(name)
		if next == nil {
			return nil, fmt.Errorf("lookup %s: %w", snapPath, ErrNotFound)
		}
		node = next
	}
	return node, nil
}

// splitPath cleans a snapshot path and returns its components; the root is
// the empty list.
func splitPath(p string) []string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// joinPath is the inverse of splitPath: an absolute snapshot path.
func joinPath(comps []string) string {
	return "/" + strings.Join(comps, "/")
}
