package fs

import (
	"context"
	"fmt"
	"testing"

	"cairn/repo/tree"
)

// TestSubtreeLoaderExpands: the walker's takes get the right trees at
// every level after the loader has run ahead (the expansion itself is
// tested with walk.Ahead).
func TestSubtreeLoaderExpands(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo()
	// root -> a, b -> each with c0..c2 -> each with one file.
	var rootNodes []*tree.Node
	for _, top := range []string{"a", "b"} {
		var mid []*tree.Node
		for i := range 3 {
			leaf := &tree.Tree{Nodes: []*tree.Node{{Name: "f" + top + fmt.Sprint(i), Type: tree.TypeFile}}}
			id, err := r.SaveTree(ctx, leaf)
			if err != nil {
				t.Fatal(err)
			}
			mid = append(mid, &tree.Node{Name: fmt.Sprintf("c%d", i), Type: tree.TypeDir, Subtree: &id})
		}
		id, err := r.SaveTree(ctx, &tree.Tree{Nodes: mid})
		if err != nil {
			t.Fatal(err)
		}
		rootNodes = append(rootNodes, &tree.Node{Name: top, Type: tree.TypeDir, Subtree: &id})
	}
	root := &tree.Tree{Nodes: rootNodes}

	l := newSubtreeLoader(r)
	p := l.prefetch(ctx, root)
	a := p.take(ctx, root.Nodes[0])
	if a == nil || len(a.Nodes) != 3 {
		t.Fatalf("take(a) = %v", a)
	}
	l.wait()
	pa := l.prefetch(ctx, a)
	if c := pa.take(ctx, a.Nodes[1]); c == nil || len(c.Nodes) != 1 || c.Nodes[0].Name != "fa1" {
		t.Fatalf("take(a/c1) = %v", c)
	}
}
