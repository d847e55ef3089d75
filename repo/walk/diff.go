package walk

import (
	"context"
	"path"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Change is one difference between two snapshots.
type Change struct {
	Path string `json:"path"`
	// Kind is "+" (added), "-" (removed), "M" (content changed), "U"
	// (metadata only) or "T" (type changed).
	Kind string `json:"modifier"`
}

// Diff reports the changes from tree a to tree b, in path order. Identical
// subtrees (same id) are skipped without loading them.
func Diff(ctx context.Context, l TreeLoader, a, b crypto.ID, fn func(Change) error) error {
	return diff(ctx, l, &a, &b, "/", fn)
}

func diff(ctx context.Context, l TreeLoader, a, b *crypto.ID, dir string, fn func(Change) error) error {
	if a != nil && b != nil && *a == *b {
		return nil
	}
	ta, tb := &tree.Tree{}, &tree.Tree{}
	var err error
	if a != nil {
		if ta, err = l.LoadTree(ctx, *a); err != nil {
			return err
		}
	}
	if b != nil {
		if tb, err = l.LoadTree(ctx, *b); err != nil {
			return err
		}
	}
	i, j := 0, 0
	for i < len(ta.Nodes) || j < len(tb.Nodes) {
		var na, nb *tree.Node
		switch {
		case j >= len(tb.Nodes) || (i < len(ta.Nodes) && ta.Nodes[i].Name < tb.Nodes[j].Name):
			na = ta.Nodes[i]
			i++
		case i >= len(ta.Nodes) || tb.Nodes[j].Name < ta.Nodes[i].Name:
			nb = tb.Nodes[j]
			j++
		default:
			na, nb = ta.Nodes[i], tb.Nodes[j]
			i++
			j++
		}
		if err := diffNode(ctx, l, na, nb, dir, fn); err != nil {
			return err
		}
	}
	return nil
}

func diffNode(ctx context.Context, l TreeLoader, na, nb *tree.Node, dir string, fn func(Change) error) error {
	var name string
	if na != nil {
		name = na.Name
	} else {
		name = nb.Name
	}
	p := path.Join(dir, name)
	sub := func(n *tree.Node) *crypto.ID {
		if n != nil && n.Type == tree.TypeDir {
			return n.Subtree
		}
		return nil
	}
	switch {
	case na == nil:
		if err := fn(Change{Path: p, Kind: "+"}); err != nil {
			return err
		}
	case nb == nil:
		if err := fn(Change{Path: p, Kind: "-"}); err != nil {
			return err
		}
	case na.Type != nb.Type:
		if err := fn(Change{Path: p, Kind: "T"}); err != nil {
			return err
		}
	case na.Type != tree.TypeDir && !sameContent(na, nb):
		if err := fn(Change{Path: p, Kind: "M"}); err != nil {
			return err
		}
	case !sameMeta(na, nb):
		if err := fn(Change{Path: p, Kind: "U"}); err != nil {
			return err
		}
	}
	if sa, sb := sub(na), sub(nb); sa != nil || sb != nil {
		return diff(ctx, l, sa, sb, p, fn)
	}
	return nil
}

func sameContent(a, b *tree.Node) bool {
	if a.Size != b.Size || a.LinkTarget != b.LinkTarget || a.Rdev != b.Rdev || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if a.Content[i] != b.Content[i] {
			return false
		}
	}
	return true
}

func sameMeta(a, b *tree.Node) bool {
	if a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID || !a.ModTime.Equal(b.ModTime) || len(a.Xattrs) != len(b.Xattrs) {
		return false
	}
	for i := range a.Xattrs {
		if a.Xattrs[i].Name != b.Xattrs[i].Name || string(a.Xattrs[i].Value) != string(b.Xattrs[i].Value) {
			return false
		}
	}
	return true
}
