package fs

import (
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"cairn/repo/tree"
)

// TestChangedLargeFileResync changes a large sparse file in place (bytes
// flipped, a block rewritten, part of a hole filled, data appended) and
// checks that the backup with a parent gives exactly the chunks of a
// backup without one, while saving only the chunks around the changes;
// and that a file rewritten throughout falls back to plain chunking.
func TestChangedLargeFileResync(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "disk.img")
	const mib = 1 << 20
	rng := rand.New(rand.NewSource(7))
	random := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeAt := func(b []byte, off int64) {
		t.Helper()
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	writeAt(random(24*mib), 0)
	writeAt(random(20*mib), 32*mib) // a hole of 8 MiB between

	// contentOf backs the directory up into a fresh repository without a
	// parent: the reference chunking.
	contentOf := func() []tree.Chunk {
		r := newMemRepo()
		res := backup(t, r, []string{dir}, Options{})
		return snapshot(t, r, res.Root)[p].Content
	}

	r := newMemRepo()
	first := backup(t, r, []string{dir}, Options{})
	chunks := len(snapshot(t, r, first.Root)[p].Content)

	writeAt([]byte{0xff}, 3*mib)
	writeAt([]byte{1, 2, 3}, 10*mib+5)
	writeAt(random(64<<10), 36*mib)
	writeAt(random(100<<10), 26*mib)   // into the hole
	writeAt(random(300<<10), 52*mib-1) // grows the file
	want := contentOf()

	before := r.dataSaves.Load()
	second := backup(t, r, []string{dir}, Options{ParentRoot: &first.Root})
	got := snapshot(t, r, second.Root)[p]
	if !slices.Equal(got.Content, want) {
		t.Fatalf("chunks differ from a backup without parent (%d vs %d chunks)", len(got.Content), len(want))
	}
	if string(r.content(t, got)) != readString(t, p) {
		t.Fatal("restored content differs from the file")
	}
	// Each change costs the chunks it touches plus a chunk or two each
	// side; the new data beside the hole and at the end is chunked anew.
	saves := r.dataSaves.Load() - before
	if limit := int64(60); saves > limit {
		t.Errorf("saved %d chunks of %d, want at most %d", saves, chunks, limit)
	}
	t.Logf("%d chunks, %d saved by the incremental backup", chunks, saves)

	// Rewritten throughout: the probe gives up, and chunking is plain.
	writeAt(random(24*mib), 0)
	want = contentOf()
	third := backup(t, r, []string{dir}, Options{ParentRoot: &second.Root})
	if got := snapshot(t, r, third.Root)[p]; !slices.Equal(got.Content, want) {
		t.Fatal("rewritten file: chunks differ from a backup without parent")
	}
}

// TestParentRunsRejectsForeignChunking: a parent whose chunk sizes cannot
// come from these params (damaged, or another repository's) gives no run,
// so its regions are chunked as if there were no parent.
func TestParentRunsRejectsForeignChunking(t *testing.T) {
	p := testParams()
	ok := &tree.Node{Type: tree.TypeFile, Content: []tree.Chunk{
		{ID: [32]byte{1}, Size: uint64(p.MinSize)}, {ID: [32]byte{2}, Size: 10},
		{Size: 4096}, // a hole
		{ID: [32]byte{3}, Size: uint64(p.MaxSize)},
	}}
	runs := parentRuns(ok, p)
	if len(runs) != 2 || len(runs[0]) != 2 || len(runs[int64(p.MinSize)+10+4096]) != 1 {
		t.Fatalf("runs of a plausible parent: %v", runs)
	}
	bad := &tree.Node{Type: tree.TypeFile, Content: []tree.Chunk{
		{ID: [32]byte{1}, Size: 10}, {ID: [32]byte{2}, Size: uint64(p.MinSize)}, // short chunk first
		{Size: 4096},
		{ID: [32]byte{3}, Size: uint64(p.MaxSize) + 1}, // too large
	}}
	if runs := parentRuns(bad, p); len(runs) != 0 {
		t.Fatalf("implausible parent gave runs %v", runs)
	}
}
