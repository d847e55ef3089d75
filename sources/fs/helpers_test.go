package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
	"cairn/repo/walk"
)

// memRepo is an in-memory test double for Repo. The real repository is
// being built concurrently; end-to-end tests against it live with the
// command. Blob ids are unkeyed hashes, which is all dedup needs.
type memRepo struct {
	mu    sync.Mutex
	data  map[crypto.ID][]byte
	trees map[crypto.ID][]byte

	dataSaves atomic.Int64
	// failAfter makes SaveBlob fail once it has been called that many
	// times; 0 never fails.
	failAfter int64
	// onSave, if set, runs at the start of every SaveBlob.
	onSave func(ctx context.Context)
	// discardData keeps only the ids of data blobs, for measurements.
	discardData bool
	// delay slows every data SaveBlob, so that work piles up where the
	// archiver does not bound it.
	delay time.Duration
	// inFlight and maxInFlight track concurrent data SaveBlob calls.
	inFlight, maxInFlight atomic.Int64
}

var _ Repo = (*memRepo)(nil)

var errInjected = errors.New("injected repository failure")

func newMemRepo() *memRepo {
	return &memRepo{data: map[crypto.ID][]byte{}, trees: map[crypto.ID][]byte{}}
}

func (r *memRepo) BlobID(data []byte) crypto.ID { return crypto.Hash(data) }

func (r *memRepo) SaveBlob(ctx context.Context, t pack.BlobType, data []byte) (crypto.ID, error) {
	if r.onSave != nil {
		r.onSave(ctx)
	}
	if err := ctx.Err(); err != nil {
		return crypto.ID{}, err
	}
	if t == pack.DataBlob {
		if n := r.dataSaves.Add(1); r.failAfter > 0 && n > r.failAfter {
			return crypto.ID{}, errInjected
		}
		n := r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		for m := r.maxInFlight.Load(); n > m && !r.maxInFlight.CompareAndSwap(m, n); m = r.maxInFlight.Load() {
		}
		time.Sleep(r.delay)
	}
	id := crypto.Hash(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.data
	if t == pack.TreeBlob {
		m = r.trees
	}
	if _, ok := m[id]; !ok {
		if t == pack.DataBlob && r.discardData {
			m[id] = nil
		} else {
			m[id] = bytes.Clone(data)
		}
	}
	return id, nil
}

func (r *memRepo) SaveTree(ctx context.Context, t *tree.Tree) (crypto.ID, error) {
	b, err := t.Encode()
	if err != nil {
		return crypto.ID{}, err
	}
	return r.SaveBlob(ctx, pack.TreeBlob, b)
}

func (r *memRepo) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	r.mu.Lock()
	b, ok := r.trees[id]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("tree %v not found", id.Short())
	}
	return tree.Decode(b)
}

// content reassembles a file node's content, holes as zeros.
func (r *memRepo) content(t *testing.T, n *tree.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range n.Content {
		if c.IsHole() {
			buf.Write(make([]byte, c.Size))
			continue
		}
		r.mu.Lock()
		b, ok := r.data[c.ID]
		r.mu.Unlock()
		if !ok || uint64(len(b)) != c.Size {
			t.Fatalf("%s: chunk %v missing or of wrong size", n.Name, c.ID.Short())
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

// testParams are small chunk sizes, so that the fixture's files have many
// chunks, with a fixed polynomial for reproducible boundaries.
func testParams() chunker.Params {
	return chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: 16 << 10, AverageBits: 15, MaxSize: 128 << 10}
}

func backup(t *testing.T, r *memRepo, paths []string, opts Options) *Result {
	t.Helper()
	if opts.Chunker == (chunker.Params{}) {
		opts.Chunker = testParams()
	}
	res, err := Backup(context.Background(), r, paths, opts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return res
}

// snapshot returns every node of the snapshot by absolute path.
func snapshot(t *testing.T, r *memRepo, root crypto.ID) map[string]*tree.Node {
	t.Helper()
	out := map[string]*tree.Node{}
	err := walk.Walk(context.Background(), r, root, func(p string, n *tree.Node) error {
		out[p] = n
		return nil
	})
	if err != nil {
		t.Fatalf("walk snapshot: %v", err)
	}
	return out
}

// under returns the nodes below dir, keyed by path relative to dir.
func under(nodes map[string]*tree.Node, dir string) map[string]*tree.Node {
	out := map[string]*tree.Node{}
	for p, n := range nodes {
		if len(p) > len(dir) && p[:len(dir)+1] == dir+"/" {
			out[p[len(dir)+1:]] = n
		}
	}
	return out
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, ps ...string) {
	t.Helper()
	for _, p := range ps {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
