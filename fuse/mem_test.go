package fuse

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/tree"
)

// memRepo is an in-memory Repository that counts what it is asked for,
// so tests can assert what a mount fetches.
type memRepo struct {
	mu        sync.Mutex
	snaps     map[crypto.ID]*repo.Snapshot
	trees     map[crypto.ID]*tree.Tree
	blobs     map[crypto.ID][]byte
	blobLoads map[crypto.ID]int
	lists     int
	snapLoads int
	syncs     int
	delay     time.Duration // slows every LoadBlob
}

var _ Repository = (*memRepo)(nil)

func newMemRepo() *memRepo {
	return &memRepo{snaps: map[crypto.ID]*repo.Snapshot{}, trees: map[crypto.ID]*tree.Tree{},
		blobs: map[crypto.ID][]byte{}, blobLoads: map[crypto.ID]int{}}
}

func (m *memRepo) SnapshotIDs(ctx context.Context) ([]crypto.ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var ids []crypto.ID
	for id := range m.snaps {
		ids = append(ids, id)
	}
	return ids, nil
}

func (m *memRepo) LoadSnapshot(ctx context.Context, id crypto.ID) (*repo.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snapLoads++
	sn, ok := m.snaps[id]
	if !ok {
		return nil, fmt.Errorf("snapshot %s: not found", id.Short())
	}
	c := *sn
	return &c, nil
}

func (m *memRepo) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.trees[id]
	if !ok {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), repo.ErrBlobNotFound)
	}
	return t, nil
}

func (m *memRepo) LoadBlob(ctx context.Context, typ pack.BlobType, id crypto.ID, dst []byte) ([]byte, error) {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobLoads[id]++
	b, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", id.Short(), repo.ErrBlobNotFound)
	}
	return append(dst[:0], b...), nil
}

func (m *memRepo) SyncIndex(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	return nil
}

func (m *memRepo) count(f func() int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return f()
}

func (m *memRepo) totalLoads() int {
	return m.count(func() int {
		n := 0
		for _, c := range m.blobLoads {
			n += c
		}
		return n
	})
}

// content stores data as chunks of chunkSize, with zero runs of a whole
// chunk as holes, the way a sparse-aware backup records them.
func (m *memRepo) content(data []byte, chunkSize int) []tree.Chunk {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tree.Chunk
	for off := 0; off < len(data); off += chunkSize {
		c := data[off:min(off+chunkSize, len(data))]
		if isZero(c) {
			out = append(out, tree.Chunk{Size: uint64(len(c))})
			continue
		}
		id := crypto.Hash(c)
		m.blobs[id] = append([]byte(nil), c...)
		out = append(out, tree.Chunk{ID: id, Size: uint64(len(c))})
	}
	return out
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// tree stores a directory and returns its id.
func (m *memRepo) tree(nodes ...*tree.Node) crypto.ID {
	t := &tree.Tree{Nodes: nodes}
	b, err := t.Encode()
	if err != nil {
		panic(err)
	}
	id := crypto.Hash(b)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trees[id] = t
	return id
}

// snapshot adds a snapshot of root and returns it.
func (m *memRepo) snapshot(at time.Time, host string, tags []string, root crypto.ID) *repo.Snapshot {
	sn := &repo.Snapshot{Time: at, Host: host, Tags: tags, Kind: repo.KindFS, Tree: root, Paths: []string{"/x"}}
	sn.ID = crypto.Hash([]byte(fmt.Sprint(at.UnixNano(), host, tags, root)))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snaps[sn.ID] = sn
	return sn
}

// requireFUSE skips a test that mounts when this machine cannot.
func requireFUSE(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root here (/dev/fuse is root-only and no fusermount setuid is assumed)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
}

// mountMem mounts r in a temp dir for the test's lifetime.
func mountMem(t *testing.T, r Repository, opts Options) (*FS, string) {
	t.Helper()
	requireFUSE(t)
	fsys, err := New(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := fsys.Mount(dir, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		m.Wait()
		fsys.Close()
	})
	return fsys, dir
}
