package walk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// mapLoader serves trees from a map and counts loads per id.
type mapLoader struct {
	mu    sync.Mutex
	trees map[crypto.ID]*tree.Tree
	loads map[crypto.ID]int
}

func (m *mapLoader) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads[id]++
	if t, ok := m.trees[id]; ok {
		return t, nil
	}
	return nil, errors.New("no such tree")
}

func (m *mapLoader) add(t *tree.Tree) crypto.ID {
	id := crypto.Hash([]byte(fmt.Sprint(len(m.trees), t.Nodes[0].Name)))
	m.trees[id] = t
	return id
}

func dir(name string, id crypto.ID) *tree.Node {
	return &tree.Node{Name: name, Type: tree.TypeDir, Subtree: &id}
}

// TestAheadExpandsAndForgets: a loaded tree's first subdirectories are
// started too (up to expand), ahead starts stop at max, Take serves a
// started load once and then forgets it, and a tree never started is
// loaded by Take itself.
func TestAheadExpandsAndForgets(t *testing.T) {
	ctx := context.Background()
	m := &mapLoader{trees: map[crypto.ID]*tree.Tree{}, loads: map[crypto.ID]int{}}
	var leaves []crypto.ID
	for i := range 3 {
		leaves = append(leaves, m.add(&tree.Tree{Nodes: []*tree.Node{{Name: fmt.Sprint("f", i), Type: tree.TypeFile}}}))
	}
	mid := m.add(&tree.Tree{Nodes: []*tree.Node{dir("a", leaves[0]), dir("b", leaves[1]), dir("c", leaves[2])}})

	a := NewAhead(m, 2, 100, 2) // expand the first two subdirectories
	a.Start(ctx, mid, false)
	a.Wait()
	a.mu.Lock()
	_, l0 := a.m[leaves[0]]
	_, l1 := a.m[leaves[1]]
	_, l2 := a.m[leaves[2]]
	a.mu.Unlock()
	if !l0 || !l1 || l2 {
		t.Fatalf("started after expansion: %v %v %v, want the first two leaves only", l0, l1, l2)
	}
	for _, id := range []crypto.ID{mid, leaves[0], leaves[2]} {
		if tr, err := a.Take(ctx, id); err != nil || tr != m.trees[id] {
			t.Fatalf("Take %v: %v %v", id.Short(), tr, err)
		}
	}
	if _, err := a.Take(ctx, leaves[0]); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	if n := m.loads[leaves[0]]; n != 2 {
		t.Errorf("leaf 0 loaded %d times, want 2 (once ahead, once after its load was taken)", n)
	}
	if n := m.loads[mid]; n != 1 {
		t.Errorf("mid loaded %d times, want 1", n)
	}

	full := NewAhead(m, 2, 1, 0)
	if !full.Start(ctx, leaves[0], true) || full.Start(ctx, leaves[1], true) || !full.Start(ctx, leaves[1], false) {
		t.Fatal("max did not bound ahead starts only")
	}
	full.Wait()
	if _, err := full.Take(ctx, crypto.Hash([]byte("missing"))); err == nil {
		t.Fatal("Take of a missing tree gave no error")
	}
}
