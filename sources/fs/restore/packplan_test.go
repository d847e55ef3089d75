package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend/local"
	"cairn/repo/tree"
)

// The repository reads pack ranges for Restore.
var _ PackLoader = (*repo.Repository)(nil)

// realRepo stores files in a real repository with small packs: each file
// is a list of chunk contents (nil for a 1 MiB hole); chunks repeat across
// and within files. It returns the repository, its directory, the root
// tree and the files' contents.
func realRepo(t *testing.T, files int) (*repo.Repository, string, *tree.Node, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := repo.Init(ctx, be, "pw", repo.InitOptions{PackSize: 512 << 10, Options: repo.Options{
		CacheDir: filepath.Join(dir, "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	rng := rand.New(rand.NewSource(7))
	var pool [][]byte
	for i := 0; i < 40; i++ {
		b := make([]byte, 1+rng.Intn(96<<10))
		rng.Read(b[:len(b)/2])
		pool = append(pool, b)
	}
	want := map[string][]byte{}
	var nodes []*tree.Node
	for i := 0; i < files; i++ {
		var content []tree.Chunk
		var buf bytes.Buffer
		for j := rng.Intn(12); j > 0; j-- {
			if rng.Intn(8) == 0 {
				content = append(content, hole(1<<20))
				buf.Write(make([]byte, 1<<20))
				continue
			}
			data := pool[rng.Intn(len(pool))]
			id, err := r.SaveBlob(ctx, pack.DataBlob, data)
			if err != nil {
				t.Fatal(err)
			}
			content = append(content, tree.Chunk{ID: id, Size: uint64(len(data))})
			buf.Write(data)
		}
		name := fmt.Sprintf("f%03d", i)
		nodes = append(nodes, file(name, 0o644, content...))
		want[name] = buf.Bytes()
	}
	id, err := r.SaveTree(ctx, &tree.Tree{Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return r, filepath.Join(dir, "repo"), &tree.Node{Name: "d", Type: tree.TypeDir, Mode: 0o755, ModTime: t0, Subtree: &id}, want
}

// rootTree stores the root tree holding n and returns its id.
func rootTree(t *testing.T, r *repo.Repository, n *tree.Node) crypto.ID {
	t.Helper()
	id, err := r.SaveTree(context.Background(), &tree.Tree{Nodes: []*tree.Node{n}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRestoreFromPacks restores more files than one batch holds from a real
// repository, with shared chunks and holes, with one and several workers,
// and compares every byte.
func TestRestoreFromPacks(t *testing.T) {
	r, _, d, want := realRepo(t, batchFiles+50)
	root := rootTree(t, r, d)
	for _, workers := range []int{1, 3} {
		target := t.TempDir()
		st := mustRestore(t, r, root, target, Options{Workers: workers, Verify: true})
		if st.Files != int64(len(want)) {
			t.Errorf("workers=%d: restored %d files, want %d", workers, st.Files, len(want))
		}
		for name, data := range want {
			if got := readFile(t, filepath.Join(target, "d", name)); !bytes.Equal(got, data) {
				t.Fatalf("workers=%d: %s differs (%d bytes, want %d)", workers, name, len(got), len(data))
			}
		}
	}
}

// TestRestoreDamagedPack flips a byte in every pack's first blob: each file
// using one of those blobs fails with an error naming its pack, and is cut
// at its first damaged chunk; the others restore.
func TestRestoreDamagedPack(t *testing.T) {
	r, dir, d, want := realRepo(t, 60)
	root := rootTree(t, r, d)
	damaged := map[crypto.ID]bool{}
	packs, err := filepath.Glob(filepath.Join(dir, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("packs: %v %v", packs, err)
	}
	for _, p := range packs {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, blobs, err := pack.List(r.Key(), bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		first := blobs[0]
		if first.Type != pack.DataBlob {
			continue
		}
		raw[first.Offset+first.Length-1] ^= 1
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		damaged[first.ID] = true
	}
	target := t.TempDir()
	st, err := Restore(context.Background(), r, root, target, Options{Workers: 2})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v", err)
	}
	failed := map[string]string{}
	for _, e := range st.Errors {
		var re *Error
		if errors.As(e, &re) {
			failed[filepath.Base(re.Path)] = re.Error()
		}
	}
	var rt *tree.Tree
	if rt, err = r.LoadTree(context.Background(), *d.Subtree); err != nil {
		t.Fatal(err)
	}
	hit := 0
	for _, n := range rt.Nodes {
		cut := int64(-1)
		var off int64
		for _, c := range n.Content {
			if damaged[c.ID] {
				cut = off
				break
			}
			off += int64(c.Size)
		}
		msg, isFailed := failed[n.Name]
		got := readFile(t, filepath.Join(target, "d", n.Name))
		switch {
		case cut < 0 && (isFailed || !bytes.Equal(got, want[n.Name])):
			t.Errorf("%s: undamaged file not restored: %s", n.Name, msg)
		case cut >= 0 && (!isFailed || !strings.Contains(msg, "pack ") || int64(len(got)) != cut || !bytes.Equal(got, want[n.Name][:cut])):
			t.Errorf("%s: damaged at %d: error %q, %d bytes restored", n.Name, cut, msg, len(got))
		case cut >= 0:
			hit++
		}
	}
	if hit == 0 {
		t.Fatal("no file used a damaged blob; the test proves nothing")
	}
}

// TestRestoreChunkNotData: a chunk naming a blob the index does not have,
// or a tree blob, fails its file with the reason; the file is cut there.
func TestRestoreChunkNotData(t *testing.T) {
	r, _, d, _ := realRepo(t, 1)
	data := []byte("first chunk")
	id, err := r.SaveBlob(context.Background(), pack.DataBlob, data)
	if err != nil {
		t.Fatal(err)
	}
	good := tree.Chunk{ID: id, Size: uint64(len(data))}
	unknown := file("unknown", 0o644, good, tree.Chunk{ID: crypto.Hash([]byte("nowhere")), Size: 7})
	treeAsData := file("tree", 0o644, good, tree.Chunk{ID: *d.Subtree, Size: 10})
	sub, err := r.SaveTree(context.Background(), &tree.Tree{Nodes: []*tree.Node{treeAsData, unknown}})
	if err != nil {
		t.Fatal(err)
	}
	root := rootTree(t, r, &tree.Node{Name: "x", Type: tree.TypeDir, Mode: 0o755, ModTime: t0, Subtree: &sub})
	target := t.TempDir()
	st, err := Restore(context.Background(), r, root, target, Options{})
	if !errors.Is(err, ErrIncomplete) || len(st.Errors) != 2 {
		t.Fatalf("err = %v, errors %v", err, st.Errors)
	}
	for _, e := range st.Errors {
		name := filepath.Base(e.(*Error).Path)
		if (name == "unknown") != errors.Is(e, ErrNotIndexed) || (name == "tree") != strings.Contains(e.Error(), "not data") {
			t.Errorf("%s: %v", name, e)
		}
		if got := readFile(t, filepath.Join(target, "x", name)); !bytes.Equal(got, data) {
			t.Errorf("%s: %q restored, want the first chunk only", name, got)
		}
	}
}
