package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/backend"
	"cairn/repo/backend/local"
	"cairn/repo/tree"
)

// fastKDF keeps tests quick; the production cost is DefaultKDF.
var fastKDF = KDFParams{Time: 1, Memory: 1024, Threads: 1}

func testRepo(t *testing.T) (*Repository, string, Options) {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: filepath.Join(dir, "cache"), KDF: fastKDF}
	r, err := Init(context.Background(), be, "secret", InitOptions{Options: opts, PackSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, filepath.Join(dir, "repo"), opts
}

func reopen(t *testing.T, dir string, pw string, opts Options) (*Repository, error) {
	t.Helper()
	be, err := local.Open(dir)
	if err != nil {
		return nil, err
	}
	return Open(context.Background(), be, pw, opts)
}

func TestInitOpenAndPasswords(t *testing.T) {
	r, dir, opts := testRepo(t)
	ctx := context.Background()
	if _, err := Init(ctx, r.Backend(), "x", InitOptions{Options: opts}); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second init: %v, want ErrAlreadyExists", err)
	}
	cfg := r.Config()
	r.Close()
	if _, err := reopen(t, dir, "wrong", opts); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	r2, err := reopen(t, dir, "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Config() != cfg {
		t.Fatalf("config changed across open: %+v vs %+v", r2.Config(), cfg)
	}
	// A second password opens the same master key; passwd replaces a key.
	if _, err := r2.AddKey(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.ChangePassword(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	keys, _ := r2.ListKeys(ctx)
	if len(keys) != 2 {
		t.Fatalf("keys: %d, want 2", len(keys))
	}
	r2.Close()
	for _, pw := range []string{"second", "new"} {
		r3, err := reopen(t, dir, pw, opts)
		if err != nil {
			t.Fatalf("open with %q: %v", pw, err)
		}
		if r3.Key().Enc != r.Key().Enc {
			t.Fatalf("password %q opened another master key", pw)
		}
		r3.Close()
	}
	if _, err := reopen(t, dir, "secret", opts); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("old password still opens after passwd: %v", err)
	}
	if _, err := reopen(t, filepath.Join(t.TempDir(), "nothing"), "x", opts); err == nil {
		t.Fatal("opening a missing directory succeeded")
	}
}

func TestBlobsRoundTripAcrossSessionsAndCacheLoss(t *testing.T) {
	r, dir, opts := testRepo(t)
	ctx := context.Background()
	blobs := map[crypto.ID][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				data := make([]byte, 1000+i*3000)
				rand.Read(data[:len(data)/2]) // half compressible
				id, err := r.SaveBlob(ctx, pack.DataBlob, data)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				blobs[id] = data
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Saving a known blob again adds nothing.
	before := r.Stats()
	for id, data := range blobs {
		if got, err := r.SaveBlob(ctx, pack.DataBlob, data); err != nil || got != id {
			t.Fatal(err)
		}
		break
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Stats().BlobsNew != before.BlobsNew {
		t.Fatalf("duplicate blob was stored again")
	}
	if r.Stats().PacksWritten < 2 {
		t.Fatalf("expected several packs at 1 MiB pack size, got %d", r.Stats().PacksWritten)
	}
	r.Close()
	// Lose the cache entirely: it is rebuilt from index files.
	os.RemoveAll(opts.CacheDir)
	r2, err := reopen(t, dir, "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for id, data := range blobs {
		got, err := r2.LoadBlob(ctx, pack.DataBlob, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("blob %s differs", id.Short())
		}
	}
	if _, err := r2.LoadBlob(ctx, pack.DataBlob, crypto.ID{1}, nil); !IsBlobNotFound(err) {
		t.Fatalf("missing blob: %v", err)
	}
}

func TestSnapshotsTreesAndFind(t *testing.T) {
	r, _, _ := testRepo(t)
	ctx := context.Background()
	content, _ := r.SaveBlob(ctx, pack.DataBlob, []byte("hello"))
	tid, err := r.SaveTree(ctx, &tree.Tree{Nodes: []*tree.Node{{Name: "f", Type: tree.TypeFile, Size: 5, Content: []tree.Chunk{{ID: content, Size: 5}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []crypto.ID
	for i, host := range []string{"a", "b", "a"} {
		sn := NewSnapshot(base.Add(time.Duration(i)*time.Hour), KindFS, []string{"/data"})
		sn.Host, sn.Tree, sn.Tags = host, tid, []string{"t" + host}
		id, err := r.SaveSnapshot(ctx, sn)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	latest, err := r.FindSnapshot(ctx, "latest", Filter{})
	if err != nil || latest.ID != ids[2] {
		t.Fatalf("latest: %v %v", latest, err)
	}
	latestB, err := r.FindSnapshot(ctx, "latest", Filter{Hosts: []string{"b"}})
	if err != nil || latestB.ID != ids[1] {
		t.Fatalf("latest for host b: %v", err)
	}
	byPrefix, err := r.FindSnapshot(ctx, ids[0].String()[:10], Filter{})
	if err != nil || byPrefix.ID != ids[0] {
		t.Fatalf("prefix: %v", err)
	}
	if _, err := r.FindSnapshot(ctx, "ffffffffffff", Filter{}); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("unknown: %v", err)
	}
	parent, err := r.FindParent(ctx, "a", KindFS, []string{"/data"})
	if err != nil || parent.ID != ids[2] {
		t.Fatalf("parent: %v", err)
	}
	tr, err := r.LoadTree(ctx, latest.Tree)
	if err != nil || tr.Find("f") == nil {
		t.Fatalf("tree: %v", err)
	}
}

func TestLocks(t *testing.T) {
	r, _, _ := testRepo(t)
	ctx := context.Background()
	now := time.Now()
	r.opts.Now = func() time.Time { return now }
	s1, err := r.Lock(ctx, LockShared, "backup")
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Lock(ctx, LockMaintenance, "prune")
	if err != nil {
		t.Fatalf("maintenance lock beside a backup: %v", err)
	}
	if _, err := r.Lock(ctx, LockMaintenance, "prune"); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("second maintenance lock: %v", err)
	}
	if _, err := r.Lock(ctx, LockExclusive, "repair"); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("exclusive beside others: %v", err)
	}
	m.Unlock()
	s1.Unlock()
	// A lock whose owner is gone (a pid that cannot exist) is stale.
	dead := LockInfo{Name: "dead", Kind: LockExclusive, Time: now, PID: 1 << 30}
	dead.Host, _ = os.Hostname()
	if err := r.saveLock(ctx, dead); err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock(ctx, LockExclusive, "repair")
	if err != nil {
		t.Fatalf("stale lock blocked: %v", err)
	}
	l.Unlock()
	// An old lock from another host is stale after StaleLockAge.
	old := LockInfo{Name: "old", Kind: LockExclusive, Time: now.Add(-StaleLockAge - time.Minute), Host: "elsewhere", PID: 1}
	fresh := LockInfo{Name: "fresh", Kind: LockExclusive, Time: now.Add(-time.Minute), Host: "elsewhere", PID: 1}
	r.saveLock(ctx, old)
	r.saveLock(ctx, fresh)
	if _, err := r.Lock(ctx, LockShared, "backup"); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("fresh foreign exclusive lock did not block: %v", err)
	}
	n, err := r.RemoveLocks(ctx, false)
	if err != nil || n != 2 { // old and dead
		t.Fatalf("unlock removed %d (%v), want 2", n, err)
	}
	if n, _ := r.RemoveLocks(ctx, true); n != 1 {
		t.Fatalf("unlock --remove-all removed %d, want 1", n)
	}
	var left int
	r.Backend().List(ctx, backend.LockFile, func(backend.FileInfo) error { left++; return nil })
	if left != 0 {
		t.Fatalf("%d locks left", left)
	}
}

// TestUploadOutlivesCallerContext: a caller whose context ends right after
// SaveBlob (a pipeline stage) must not make the background upload fail.
func TestUploadOutlivesCallerContext(t *testing.T) {
	r, _, _ := testRepo(t)
	for i := 0; i < 8; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		data := make([]byte, 400<<10)
		rand.Read(data)
		if _, err := r.SaveBlob(ctx, pack.DataBlob, data); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("flush after the callers' contexts ended: %v", err)
	}
	if r.Stats().PacksWritten < 2 {
		t.Fatalf("want several packs at 1 MiB pack size, got %d", r.Stats().PacksWritten)
	}
}
