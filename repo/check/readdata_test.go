package check

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/backend/local"
)

// testRepo makes a repository with small packs and stores n random data
// blobs of up to 200 KiB in it, so that it holds several packs.
func testRepo(t *testing.T, n int) (*repo.Repository, string) {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	opts := repo.Options{CacheDir: filepath.Join(dir, "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}
	ctx := context.Background()
	r, err := repo.Init(ctx, be, "secret", repo.InitOptions{Options: opts, PackSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		data := make([]byte, rng.Intn(200<<10))
		rng.Read(data[:len(data)/2]) // half random, half zeros: compressed
		if _, err := r.SaveBlob(ctx, pack.DataBlob, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return r, filepath.Join(dir, "repo")
}

func packInfos(t *testing.T, r *repo.Repository) []index.PackInfo {
	t.Helper()
	var ps []index.PackInfo
	if err := r.ForEachIndexedPack(context.Background(), func(p index.PackInfo) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ps
}

func readAll(t *testing.T, r *repo.Repository, workers int) *Report {
	t.Helper()
	rep := &Report{damagedBlobs: map[crypto.ID]bool{}}
	if err := ReadData(context.Background(), r, rep, DataOptions{Subset: Subset{All: true}, Workers: workers}); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestReadDataClean reads more packs than the pipeline has buffers, with
// one and with several workers, and finds nothing.
func TestReadDataClean(t *testing.T) {
	r, _ := testRepo(t, 60)
	packs := packInfos(t, r)
	if len(packs) < 8 {
		t.Fatalf("only %d packs; the test wants more than the buffer pool", len(packs))
	}
	var total int64
	for _, p := range packs {
		total += p.Size
	}
	for _, w := range []int{1, 3} {
		rep := readAll(t, r, w)
		if len(rep.Problems) != 0 || rep.PacksRead != len(packs) || rep.BytesRead != total {
			t.Errorf("workers=%d: problems %v, read %d packs / %d bytes, want %d / %d", w, rep.Problems, rep.PacksRead, rep.BytesRead, len(packs), total)
		}
	}
}

// TestReadDataFindsDamage flips a byte inside one blob, cuts another pack
// in the middle of its last blob and deletes a third, and checks that exactly the affected blobs are
// reported damaged.
func TestReadDataFindsDamage(t *testing.T) {
	r, dir := testRepo(t, 40)
	packs := packInfos(t, r)
	path := func(p index.PackInfo) string {
		s := p.ID.String()
		return filepath.Join(dir, "data", s[:2], s)
	}
	flipped, cut, gone := packs[0], packs[1], packs[2]
	victim := flipped.Blobs[len(flipped.Blobs)/2]
	raw, err := os.ReadFile(path(flipped))
	if err != nil {
		t.Fatal(err)
	}
	raw[int(victim.Offset)+int(victim.Length)/2] ^= 0x10
	if err := os.WriteFile(path(flipped), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	last := cut.Blobs[0]
	for _, b := range cut.Blobs {
		if b.Offset > last.Offset {
			last = b
		}
	}
	if err := os.Truncate(path(cut), int64(last.Offset)+int64(last.Length)/2); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path(gone)); err != nil {
		t.Fatal(err)
	}

	rep := readAll(t, r, 2)
	want := map[crypto.ID]bool{victim.ID: true}
	for _, b := range gone.Blobs {
		want[b.ID] = true
	}
	want[last.ID] = true // the trailer and the end of the last blob are cut
	for id := range want {
		if !rep.damagedBlobs[id] {
			t.Errorf("blob %s not reported damaged", id.Short())
		}
	}
	for id := range rep.damagedBlobs {
		if !want[id] {
			t.Errorf("intact blob %s reported damaged", id.Short())
		}
	}
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	if kinds["missing_pack"] != 1 || kinds["damaged_blob"] != 2 || kinds["damaged_pack"] < 3 {
		t.Errorf("problem kinds %v; problems:\n%v", kinds, rep.Problems)
	}
	for _, p := range rep.Problems {
		if p.Kind == "damaged_pack" && strings.Contains(p.Message, "hashes to") && p.Pack == gone.ID.String() {
			t.Errorf("a missing pack was hashed: %s", p.Message)
		}
	}
}

// TestUnindexedPackIsANote: a pack no index names (what a backup killed
// between storing a pack and its index leaves) is listed, but the check is
// clean. Losing an index that snapshots need still fails the check through
// their unindexed blobs (cmd/cairn maint_test, "deleted index").
func TestUnindexedPackIsANote(t *testing.T) {
	r, _ := testRepo(t, 10)
	ctx := context.Background()
	leftover := crypto.Hash([]byte("a pack stored by a killed backup"))
	if err := r.Backend().Save(ctx, backend.Handle{Type: backend.PackFile, Name: leftover.String()}, []byte("a pack stored by a killed backup")); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, r, true, DataOptions{Subset: Subset{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() || len(rep.UnindexedPacks) != 1 || rep.UnindexedPacks[0] != leftover.String() {
		t.Fatalf("clean %v, problems %v, unindexed %v", rep.Clean(), rep.Problems, rep.UnindexedPacks)
	}
}
