package stream

import (
	"context"
	"path/filepath"
	"testing"

	"cairn/repo"
	"cairn/repo/backend/local"
)

// testRepo makes a local repository in a temp dir with a cheap KDF and
// small packs.
func testRepo(t testing.TB) *repo.Repository {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, "pw", repo.InitOptions{
		Options:  repo.Options{CacheDir: filepath.Join(dir, "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}},
		PackSize: 4 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func snapshotCount(t testing.TB, r *repo.Repository) int {
	t.Helper()
	ids, err := r.SnapshotIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}
