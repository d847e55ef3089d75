package copy

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend/mem"
	"cairn/repo/tree"
)

func newRepo(t *testing.T, params *chunker.Params) *repo.Repository {
	t.Helper()
	opts := repo.Options{CacheDir: filepath.Join(t.TempDir(), "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}
	r, err := repo.Init(context.Background(), mem.New(), "pw", repo.InitOptions{Options: opts, PackSize: 1 << 20, Chunker: params})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// files maps a path ("dir/name") to its chunks' contents.
type files map[string][][]byte

// store saves a snapshot of fs (one directory level, "name" or
// "dir/name") taken at time at.
func store(t *testing.T, r *repo.Repository, fs files, at time.Time) *repo.Snapshot {
	t.Helper()
	ctx := context.Background()
	dirs := map[string]*tree.Tree{"": {}}
	for p, chunks := range fs {
		dir, name := filepath.Split(p)
		dir = filepath.Clean(dir)
		if dir == "." {
			dir = ""
		}
		if dirs[dir] == nil {
			dirs[dir] = &tree.Tree{}
		}
		n := &tree.Node{Name: name, Type: tree.TypeFile, Mode: 0o644, ModTime: at}
		for _, c := range chunks {
			if c == nil { // a hole
				n.Content = append(n.Content, tree.Chunk{Size: 4096})
				n.Size += 4096
				continue
			}
			id, err := r.SaveBlob(ctx, pack.DataBlob, c)
			if err != nil {
				t.Fatal(err)
			}
			n.Content = append(n.Content, tree.Chunk{ID: id, Size: uint64(len(c))})
			n.Size += uint64(len(c))
		}
		dirs[dir].Nodes = append(dirs[dir].Nodes, n)
	}
	root := dirs[""]
	for name, d := range dirs {
		if name == "" {
			continue
		}
		id, err := r.SaveTree(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		root.Nodes = append(root.Nodes, &tree.Node{Name: name, Type: tree.TypeDir, Mode: 0o755, Subtree: &id})
	}
	rootID, err := r.SaveTree(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn := &repo.Snapshot{Time: at, Host: "h", Paths: []string{"/src"}, Kind: repo.KindFS, Tree: rootID}
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		t.Fatal(err)
	}
	return sn
}

// read returns a snapshot's files as store took them.
func read(t *testing.T, r *repo.Repository, sn *repo.Snapshot) files {
	t.Helper()
	ctx := context.Background()
	out := files{}
	var walk func(prefix string, id crypto.ID)
	walk = func(prefix string, id crypto.ID) {
		tr, err := r.LoadTree(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tr.Nodes {
			if n.Subtree != nil {
				walk(prefix+n.Name+"/", *n.Subtree)
				continue
			}
			var chunks [][]byte
			for _, c := range n.Content {
				if c.IsHole() {
					chunks = append(chunks, nil)
					continue
				}
				b, err := r.LoadBlob(ctx, pack.DataBlob, c.ID, nil)
				if err != nil {
					t.Fatal(err)
				}
				chunks = append(chunks, b)
			}
			out[prefix+n.Name] = chunks
		}
	}
	walk("", sn.Tree)
	return out
}

func sameFiles(t *testing.T, got, want files) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d files, want %d", len(got), len(want))
	}
	for p, w := range want {
		g := got[p]
		if len(g) != len(w) {
			t.Fatalf("%s: %d chunks, want %d", p, len(g), len(w))
		}
		for i := range w {
			if !bytes.Equal(g[i], w[i]) {
				t.Errorf("%s chunk %d differs", p, i)
			}
		}
	}
}

func chunk(s string, n int) []byte { return bytes.Repeat([]byte(s), n) }

func TestCopySkipsDedupsAndTranslates(t *testing.T) {
	ctx := context.Background()
	src := newRepo(t, nil)
	params := src.ChunkerParams()
	dst := newRepo(t, &params)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	// The destination already backed up some of the same data itself.
	native := files{"other": {chunk("shared", 1000)}}
	store(t, dst, native, t0.Add(-time.Hour))

	v1 := files{"a": {chunk("a", 5000), chunk("shared", 1000)}, "d/b": {chunk("b", 3000), nil, chunk("c", 10)}, "empty": nil}
	s1 := store(t, src, v1, t0)
	before := dst.Stats().BlobsNew
	res, err := Copy(ctx, src, dst, []*repo.Snapshot{s1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Copied) != 1 || res.BlobsLoaded != 4 {
		t.Fatalf("first copy: %+v", res)
	}
	// 3 new data blobs (the shared chunk deduplicates) and 2 trees.
	if n := dst.Stats().BlobsNew - before; n != 3+2 {
		t.Errorf("first copy stored %d new blobs, want 5", n)
	}
	sns, _ := dst.Snapshots(ctx)
	copied := sns[len(sns)-1]
	if copied.Original == nil || *copied.Original != s1.ID || !copied.Time.Equal(s1.Time) || copied.Host != "h" {
		t.Fatalf("copy does not record its original: %+v", copied)
	}
	sameFiles(t, read(t, dst, copied), v1)

	// Again: nothing to do.
	res, err = Copy(ctx, src, dst, []*repo.Snapshot{s1}, Options{})
	if err != nil || len(res.Copied) != 0 || len(res.Skipped) != 1 {
		t.Fatalf("second copy of the same snapshot: %+v, %v", res, err)
	}

	// A later snapshot: unchanged files are translated, not read.
	v2 := files{"a": v1["a"], "d/b": v1["d/b"], "new": {chunk("n", 700)}}
	s2 := store(t, src, v2, t0.Add(time.Hour))
	res, err = Copy(ctx, src, dst, []*repo.Snapshot{s1, s2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Copied) != 1 || res.BlobsLoaded != 1 {
		t.Errorf("incremental copy: %+v (want 1 snapshot, 1 blob read)", res)
	}
	sns, _ = dst.Snapshots(ctx)
	sameFiles(t, read(t, dst, sns[len(sns)-1]), v2)
	if len(sns) != 3 {
		t.Errorf("destination has %d snapshots, want 3", len(sns))
	}
}

// TestCopyOfACopy: copying on from the destination to a third repository
// keeps the first original, and copying back is a no-op.
func TestCopyOfACopy(t *testing.T) {
	ctx := context.Background()
	a, b, c := newRepo(t, nil), newRepo(t, nil), newRepo(t, nil)
	var sns []*repo.Snapshot
	for i := 0; i < 3; i++ {
		sns = append(sns, store(t, a, files{"f": {chunk(fmt.Sprint(i), 100)}}, time.Unix(int64(1000+i), 0)))
	}
	if _, err := Copy(ctx, a, b, sns, Options{}); err != nil {
		t.Fatal(err)
	}
	bs, _ := b.Snapshots(ctx)
	if _, err := Copy(ctx, b, c, bs, Options{}); err != nil {
		t.Fatal(err)
	}
	cs, _ := c.Snapshots(ctx)
	for i, sn := range cs {
		if *sn.Original != sns[i].ID {
			t.Errorf("copy of a copy names %s as original, want %s", sn.Original.Short(), sns[i].ID.Short())
		}
	}
	res, err := Copy(ctx, c, a, cs, Options{})
	if err != nil || len(res.Copied) != 0 {
		t.Errorf("copying back copied %d snapshots (%v), want 0", len(res.Copied), err)
	}
}
