package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cairn/sources/fs/fstest"
)

// genData writes deterministic content for (host, iteration): a part shared
// by every host and iteration, and a part of its own, so backups dedup
// partly and prune has real work.
func genData(t *testing.T, dir, host string, iter int) {
	t.Helper()
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	write := func(name, seed string, size int) {
		buf := make([]byte, 0, size)
		h := sha256.Sum256([]byte(seed))
		for len(buf) < size {
			h = sha256.Sum256(h[:])
			buf = append(buf, h[:]...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf[:size], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("shared", "shared", 1<<20)
	write("own", fmt.Sprintf("%s-%d", host, iter), 600<<10)
	os.WriteFile(filepath.Join(dir, "iter"), []byte(fmt.Sprint(iter)), 0o644)
}

type snapJSON struct {
	ID    string   `json:"id"`
	Host  string   `json:"host"`
	Tags  []string `json:"tags"`
	Paths []string `json:"paths"`
}

func (tr *testRepo) snapshots() []snapJSON {
	tr.t.Helper()
	var sns []snapJSON
	if err := json.Unmarshal([]byte(tr.mustRun("snapshots", "--json")), &sns); err != nil {
		tr.t.Fatal(err)
	}
	return sns
}

// TestConcurrentBackupsPruneAndCheck runs backups from three "hosts" while
// forget --prune (with a tiny skew margin, so deletion really happens
// during backups) and check loop; afterwards everything kept restores.
func TestConcurrentBackupsPruneAndCheck(t *testing.T) {
	tr := newTestRepo(t)
	hosts := []string{"alpha", "beta", "gamma"}
	const iterations = 6
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := filepath.Join(tr.dir, "src-"+h)
			for i := 0; i < iterations; i++ {
				genData(t, dir, h, i)
				r := tr.run("backup", "--quiet", "--host", h, "--tag", fmt.Sprintf("it%d", i), dir)
				if r.code != 0 {
					errs <- fmt.Errorf("backup %s/%d: exit %d: %s", h, i, r.code, r.stderr)
				}
			}
		}()
	}
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := tr.run("forget", "--quiet", "--keep-last", "2", "--prune", "--grace", "0s", "--skew-margin", "1ms")
			if r.code != 0 && r.code != 11 {
				errs <- fmt.Errorf("forget --prune: exit %d: %s", r.code, r.stderr)
			}
			if r := tr.run("check", "--quiet"); r.code != 0 {
				// A structural check beside a backup may see a pack stored
				// before its index: only report true damage.
				if strings.Contains(r.stdout+r.stderr, "missing") || strings.Contains(r.stdout+r.stderr, "damaged") {
					errs <- fmt.Errorf("check during backups: %s%s", r.stdout, r.stderr)
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	mwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Settle: a last forget, then two prunes without backups complete
	// every pending deletion.
	tr.mustRun("forget", "--keep-last", "2")
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("check", "--read-data")
	sns := tr.snapshots()
	if len(sns) != 2*len(hosts) {
		t.Errorf("want %d snapshots kept (2 per host), got %d", 2*len(hosts), len(sns))
	}
	for _, sn := range sns {
		var iter int
		fmt.Sscanf(sn.Tags[0], "it%d", &iter)
		want := filepath.Join(tr.dir, "want-"+sn.ID[:8])
		genData(t, want, sn.Host, iter)
		target := filepath.Join(tr.dir, "restore-"+sn.ID[:8])
		tr.mustRun("restore", sn.ID, "--target", target)
		for _, name := range []string{"shared", "own", "iter"} {
			a, _ := os.ReadFile(filepath.Join(want, name))
			b, err := os.ReadFile(filepath.Join(target, sn.Paths[0], name))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("snapshot %s (%s it%d): %s differs after concurrent prune: %v", sn.ID[:8], sn.Host, iter, name, err)
			}
		}
	}
}

// TestKilledPruneNeverLosesKeptData kills prune at random points.
func TestKilledPruneNeverLosesKeptData(t *testing.T) {
	tr := newTestRepo(t)
	keep := filepath.Join(tr.dir, "keep")
	fstest.MakeFixture(t, keep)
	tr.backup("--tag", "keep", keep)
	rng := mrand.New(mrand.NewSource(time.Now().UnixNano()))
	for i := 0; i < 20; i++ {
		junk := filepath.Join(tr.dir, "junk")
		genData(t, junk, "junk", i)
		tr.backup("--tag", "junk", junk)
		tr.mustRun("forget", "--quiet", "--tag", "junk", "--keep-last", "1")
		cmd := exec.Command(cairnBin, "prune", "--quiet", "--grace", "0s", "--max-unused", "0")
		cmd.Env = append(cleanEnv(), tr.env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		tr.mustRun("unlock")
		if i%5 == 4 {
			target := filepath.Join(tr.dir, fmt.Sprintf("r%d", i))
			tr.mustRun("restore", "latest", "--tag", "keep", "--target", target)
			fstest.CompareTrees(t, keep, filepath.Join(target, keep))
			os.RemoveAll(target)
		}
	}
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("prune", "--grace", "0s")
	tr.mustRun("check", "--read-data")
	target := filepath.Join(tr.dir, "final")
	tr.mustRun("restore", "latest", "--tag", "keep", "--target", target)
	fstest.CompareTrees(t, keep, filepath.Join(target, keep))
}

// damageRepo makes a repository with two snapshots sharing data.
func damageRepo(t *testing.T) (*testRepo, string, string) {
	tr := newTestRepo(t)
	a := filepath.Join(tr.dir, "a")
	genData(t, a, "a", 1)
	tr.backup(a)
	b := filepath.Join(tr.dir, "b")
	genData(t, b, "b", 1)
	tr.backup(b)
	return tr, a, b
}

func repoFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// biggestPacks returns the data packs, largest first.
func biggestPacks(t *testing.T, repoDir string) []string {
	var packs []string
	for _, f := range repoFiles(t, filepath.Join(repoDir, "data")) {
		if fi, _ := os.Stat(f); fi.Size() > 500<<10 {
			packs = append(packs, f)
		}
	}
	if len(packs) == 0 {
		t.Fatal("no data packs")
	}
	size := func(p string) int64 { fi, _ := os.Stat(p); return fi.Size() }
	sort.Slice(packs, func(i, j int) bool { return size(packs[i]) > size(packs[j]) })
	return packs
}

func TestCheckFindsDamageAndRepairFixesIt(t *testing.T) {
	t.Run("bitflip", func(t *testing.T) {
		tr, _, _ := damageRepo(t)
		p := biggestPacks(t, tr.repo)[0]
		raw, _ := os.ReadFile(p)
		raw[len(raw)/3] ^= 1
		os.WriteFile(p, raw, 0o600)
		r := tr.run("check", "--read-data")
		if r.code == 0 || !strings.Contains(r.stdout, "damaged: snapshot") {
			t.Fatalf("check missed a flipped bit or named no snapshot: %d %s", r.code, r.stdout)
		}
		if st := tr.run("check"); st.code != 0 {
			t.Logf("structural check alone: %d (a flipped bit needs --read-data)", st.code)
		}
		tr.mustRun("repair", "packs")
		tr.mustRun("repair", "snapshots")
		tr.mustRun("check", "--read-data")
	})
	t.Run("truncated", func(t *testing.T) {
		tr, _, _ := damageRepo(t)
		p := biggestPacks(t, tr.repo)[0]
		fi, _ := os.Stat(p)
		os.Truncate(p, fi.Size()/2)
		r := tr.run("check")
		if r.code == 0 || !strings.Contains(r.stdout, "damaged: snapshot") {
			t.Fatalf("check missed a truncated pack: %d %s", r.code, r.stdout)
		}
		tr.mustRun("repair", "packs")
		tr.mustRun("repair", "snapshots")
		tr.mustRun("check", "--read-data")
	})
	t.Run("deleted pack", func(t *testing.T) {
		tr, a, b := damageRepo(t)
		os.Remove(biggestPacks(t, tr.repo)[0])
		r := tr.run("check")
		if r.code == 0 || !strings.Contains(r.stdout, "missing") || !strings.Contains(r.stdout, "damaged: snapshot") {
			t.Fatalf("check missed a deleted pack: %d %s", r.code, r.stdout)
		}
		tr.mustRun("repair", "index")
		tr.mustRun("repair", "snapshots")
		tr.mustRun("check", "--read-data")
		// The biggest pack held a's data (and the shared chunk b
		// deduplicated); b's own files lie in another pack and must still
		// restore after the repair.
		_ = a
		target := filepath.Join(tr.dir, "rb")
		tr.mustRun("restore", "latest", "--path", b, "--target", target)
		for _, name := range []string{"own"} { // "shared" and "iter" deduplicated into the deleted pack
			want, _ := os.ReadFile(filepath.Join(b, name))
			got, err := os.ReadFile(filepath.Join(target, b, name))
			if err != nil || !bytes.Equal(want, got) {
				t.Errorf("undamaged file %s of %s not restorable after repair: %v", name, b, err)
			}
		}
	})
	t.Run("deleted index", func(t *testing.T) {
		tr, a, _ := damageRepo(t)
		for _, f := range repoFiles(t, filepath.Join(tr.repo, "index")) {
			os.Remove(f)
		}
		r := tr.run("check")
		if r.code == 0 || !strings.Contains(r.stdout, "not in any index") {
			t.Fatalf("check missed lost index files: %d %s", r.code, r.stdout)
		}
		tr.mustRun("repair", "index")
		tr.mustRun("check", "--read-data")
		target := filepath.Join(tr.dir, "r")
		tr.mustRun("restore", "latest", "--path", a, "--target", target)
		fstest.CompareTrees(t, a, filepath.Join(target, a))
	})
	t.Run("damaged snapshot", func(t *testing.T) {
		tr, _, _ := damageRepo(t)
		f := repoFiles(t, filepath.Join(tr.repo, "snapshots"))[0]
		raw, _ := os.ReadFile(f)
		raw[len(raw)-5] ^= 0x80
		os.WriteFile(f, raw, 0o600)
		r := tr.run("check")
		if r.code == 0 || !strings.Contains(r.stdout, filepath.Base(f)[:8]) {
			t.Fatalf("check missed a damaged snapshot file: %d %s", r.code, r.stdout)
		}
	})
}
