package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// fakeRepo is a test double for the repository: the real one is being built
// concurrently, and end-to-end tests against it come later. It keeps tree
// blobs encoded and decodes them with tree.Decode on every load, as the
// repository does, and names blobs by their unkeyed hash.
type fakeRepo struct {
	mu      sync.Mutex
	trees   map[crypto.ID][]byte
	blobs   map[crypto.ID][]byte
	damaged map[crypto.ID]bool
	loads   map[crypto.ID]int
	// mutate, when set, may change a blob's plaintext on its n-th load
	// (n from 1), to make what Verify reads differ from what was written.
	mutate func(id crypto.ID, n int, data []byte) []byte
}

var errDamaged = errors.New("ciphertext verification failed")

func newFakeRepo() *fakeRepo {
	return &fakeRepo{
		trees:   make(map[crypto.ID][]byte),
		blobs:   make(map[crypto.ID][]byte),
		damaged: make(map[crypto.ID]bool),
		loads:   make(map[crypto.ID]int),
	}
}

func fakePack(id crypto.ID) string { return "pack-" + id.Short() }

func (f *fakeRepo) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	f.mu.Lock()
	data, ok := f.trees[id]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("tree %s: not found", id.Short())
	}
	return tree.Decode(data)
}

func (f *fakeRepo) LoadBlob(ctx context.Context, t pack.BlobType, id crypto.ID, dst []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t != pack.DataBlob {
		return nil, fmt.Errorf("blob %s: wanted %s", id.Short(), t)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.blobs[id]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", id.Short())
	}
	if f.damaged[id] {
		return nil, fmt.Errorf("blob %s in pack %s: %w", id.Short(), fakePack(id), errDamaged)
	}
	f.loads[id]++
	if f.mutate != nil {
		data = f.mutate(id, f.loads[id], data)
	}
	return append(dst[:0], data...), nil
}

// chunk stores data as a blob and returns its chunk.
func (f *fakeRepo) chunk(data []byte) tree.Chunk {
	id := crypto.Hash(data)
	f.mu.Lock()
	f.blobs[id] = append([]byte(nil), data...)
	f.mu.Unlock()
	return tree.Chunk{ID: id, Size: uint64(len(data))}
}

func hole(size uint64) tree.Chunk { return tree.Chunk{Size: size} }

// saveTree stores a tree blob and returns its id.
func (f *fakeRepo) saveTree(t testing.TB, nodes ...*tree.Node) crypto.ID {
	t.Helper()
	tr := &tree.Tree{Nodes: nodes}
	data, err := tr.Encode()
	if err != nil {
		t.Fatal(err)
	}
	id := crypto.Hash(data)
	f.mu.Lock()
	f.trees[id] = data
	f.mu.Unlock()
	return id
}

var (
	t0 = time.Unix(1700000000, 123456789)
	t1 = time.Unix(1600000000, 987654321)
)

// file returns a regular file node with the given content chunks.
func file(name string, mode uint32, chunks ...tree.Chunk) *tree.Node {
	n := &tree.Node{Name: name, Type: tree.TypeFile, Mode: mode, ModTime: t0, AccessTime: t1, Content: chunks}
	n.Size = n.ContentSize()
	return n
}

// dir stores the children and returns a directory node.
func (f *fakeRepo) dir(t testing.TB, name string, mode uint32, children ...*tree.Node) *tree.Node {
	id := f.saveTree(t, children...)
	return &tree.Node{Name: name, Type: tree.TypeDir, Mode: mode, ModTime: t0, AccessTime: t1, Subtree: &id}
}

// textFile is a file whose content is s in one chunk.
func (f *fakeRepo) textFile(name string, mode uint32, s string) *tree.Node {
	if s == "" {
		return file(name, mode)
	}
	return file(name, mode, f.chunk([]byte(s)))
}

func lstat(t testing.TB, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return &st
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRestore(t testing.TB, l Loader, root crypto.ID, target string, opts Options) *Stats {
	t.Helper()
	st, err := Restore(context.Background(), l, root, target, opts)
	if err != nil {
		t.Fatalf("restore: %v (errors %v)", err, st.Errors)
	}
	return st
}

func statTimes(st *unix.Stat_t) (atime, mtime time.Time) {
	return time.Unix(st.Atim.Unix()), time.Unix(st.Mtim.Unix())
}

func pattern4K(b byte) []byte { return bytes.Repeat([]byte{b}, 4096) }
