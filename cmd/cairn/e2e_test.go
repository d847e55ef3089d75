package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"cairn/sources/fs/fstest"
)

func goroot(t *testing.T) string {
	t.Helper()
	return runtime.GOROOT()
}

// copyTree copies src to dst with cp -a (the test needs a tree it may change).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

func TestRoundTripFixtureAndGoroot(t *testing.T) {
	tr := newTestRepo(t)
	fixture := filepath.Join(tr.dir, "fixture")
	fstest.MakeFixture(t, fixture)
	gosrc := filepath.Join(goroot(t), "src")
	s := tr.backup(fixture, gosrc)
	if s.FilesNew == 0 || s.BytesRead == 0 {
		t.Fatalf("first backup read nothing: %+v", s)
	}
	target := filepath.Join(tr.dir, "restore")
	tr.mustRun("restore", "latest", "--target", target, "--verify")
	fstest.CompareTrees(t, fixture, filepath.Join(target, fixture))
	fstest.CompareTrees(t, gosrc, filepath.Join(target, gosrc))

	// dump of one file is its content; of a directory, a tar stream.
	out := tr.mustRun("dump", "latest", filepath.Join(gosrc, "go.mod"))
	want, _ := os.ReadFile(filepath.Join(gosrc, "go.mod"))
	if out != string(want) {
		t.Errorf("dump go.mod differs from the original")
	}
	tr.checkClean()
}

func TestIncrementalReadsOnlyChanges(t *testing.T) {
	tr := newTestRepo(t)
	src := filepath.Join(tr.dir, "src")
	copyTree(t, filepath.Join(goroot(t), "src", "net"), src)
	first := tr.backup(src)

	second := tr.backup(src)
	if second.BytesRead != 0 {
		t.Errorf("unchanged re-backup read %d bytes, want 0", second.BytesRead)
	}
	if limit := first.TotalBytes / 1000; second.BytesAdded > limit {
		t.Errorf("unchanged re-backup added %d bytes, want < 0.1%% (%d)", second.BytesAdded, limit)
	}
	if second.FilesUnmodified != first.FilesNew {
		t.Errorf("files unmodified %d, want %d", second.FilesUnmodified, first.FilesNew)
	}

	// Change 1% of the files: only they are read.
	var files []string
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	rng := mrand.New(mrand.NewSource(1))
	n := len(files) / 100
	var changedBytes int64
	for _, i := range rng.Perm(len(files))[:n] {
		f, err := os.OpenFile(files[i], os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\n// changed %d\n", i)
		f.Close()
		fi, _ := os.Stat(files[i])
		changedBytes += fi.Size()
	}
	third := tr.backup(src)
	if third.FilesChanged != int64(n) {
		t.Errorf("files changed %d, want %d", third.FilesChanged, n)
	}
	if third.BytesRead != changedBytes {
		t.Errorf("read %d bytes after changing %d files, want exactly their %d bytes", third.BytesRead, n, changedBytes)
	}
	tr.checkClean()
}

func TestDedupAcrossPathsAndHosts(t *testing.T) {
	tr := newTestRepo(t)
	a := filepath.Join(tr.dir, "a")
	copyTree(t, filepath.Join(goroot(t), "src", "encoding"), a)
	first := tr.backup(a)
	b := filepath.Join(tr.dir, "elsewhere", "b")
	os.MkdirAll(filepath.Dir(b), 0o755)
	copyTree(t, a, b)
	second := tr.backup("--host", "other-host", b)
	if second.BytesRead == 0 {
		t.Fatalf("new path on a new host should be read (no parent)")
	}
	if limit := first.TotalBytes / 100; second.BytesAdded > limit {
		t.Errorf("same data under another path and host added %d bytes, want < 1%% (%d)", second.BytesAdded, limit)
	}
}

func TestWrongPasswordAndMissingRepository(t *testing.T) {
	tr := newTestRepo(t)
	src := filepath.Join(tr.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("hello"), 0o644)
	tr.backup(src)
	before := dirDigest(t, tr.repo)

	bad := filepath.Join(tr.dir, "bad-password")
	os.WriteFile(bad, []byte("not the password\n"), 0o600)
	for _, args := range [][]string{{"snapshots"}, {"backup", src}, {"restore", "latest", "--target", filepath.Join(tr.dir, "r")}} {
		r := tr.runEnv([]string{"CAIRN_PASSWORD_FILE=" + bad}, args...)
		if r.code != 12 {
			t.Errorf("%v with wrong password: exit %d, want 12 (stderr %q)", args, r.code, r.stderr)
		}
		if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || !strings.Contains(r.stderr, "wrong password") {
			t.Errorf("%v: want a one-line message naming the wrong password, got %q", args, r.stderr)
		}
	}
	if after := dirDigest(t, tr.repo); after != before {
		t.Errorf("a wrong password changed the repository:\n%s\nvs\n%s", before, after)
	}
	missing := filepath.Join(tr.dir, "no-such-repo")
	r := tr.runEnv([]string{"CAIRN_REPOSITORY=" + missing}, "snapshots")
	if r.code != 10 {
		t.Errorf("missing repository: exit %d, want 10 (%q)", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("opening a missing repository created %s", missing)
	}
}

// TestKilledBackupLosesNothing kills backups at random points; earlier
// snapshots must still restore and the next backup must reuse stored packs.
func TestKilledBackupLosesNothing(t *testing.T) {
	tr := newTestRepo(t)
	base := filepath.Join(tr.dir, "base")
	copyTree(t, filepath.Join(goroot(t), "src", "strings"), base)
	tr.backup(base)

	big := filepath.Join(tr.dir, "big")
	os.MkdirAll(big, 0o755)
	var total int64
	for i := 0; i < 12; i++ {
		buf := make([]byte, 4<<20)
		rand.Read(buf)
		os.WriteFile(filepath.Join(big, fmt.Sprintf("r%02d", i)), buf, 0o644)
		total += int64(len(buf))
	}
	iterations := 20
	rng := mrand.New(mrand.NewSource(time.Now().UnixNano()))
	for i := 0; i < iterations; i++ {
		cmd := exec.Command(cairnBin, "backup", "--quiet", big)
		cmd.Env = append(cleanEnv(), tr.env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Up to 2.5 s: early kills hit start-up, later ones land after packs
		// were stored (or even after the snapshot), on a loaded machine too.
		time.Sleep(time.Duration(rng.Intn(2500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		// The repository must stay usable after every kill.
		if r := tr.run("snapshots", "--json"); r.code != 0 {
			t.Fatalf("iteration %d: snapshots after kill: exit %d: %s", i, r.code, r.stderr)
		}
		if i%5 == 4 {
			target := filepath.Join(tr.dir, fmt.Sprintf("restore-%d", i))
			tr.mustRun("restore", "latest", "--path", base, "--target", target)
			fstest.CompareTrees(t, base, filepath.Join(target, base))
			os.RemoveAll(target)
		}
	}
	tr.mustRun("unlock")
	final := tr.backup(big)
	t.Logf("after %d kills the final backup added %d of %d bytes", iterations, final.BytesAdded, total)
	if final.BytesAdded >= total {
		t.Errorf("final backup re-uploaded everything (%d bytes): packs stored by killed runs were not reused", final.BytesAdded)
	}
	target := filepath.Join(tr.dir, "restore-final")
	tr.mustRun("restore", "latest", "--path", big, "--target", target)
	fstest.CompareTrees(t, big, filepath.Join(target, big))
	tr.checkClean()
}

// TestCorruptPackIsNeverRestoredSilently flips one byte in a data pack.
func TestCorruptPackIsNeverRestoredSilently(t *testing.T) {
	tr := newTestRepo(t)
	src := filepath.Join(tr.dir, "src")
	os.MkdirAll(src, 0o755)
	data := make([]byte, 3<<20)
	rand.Read(data)
	os.WriteFile(filepath.Join(src, "precious.bin"), data, 0o644)
	tr.backup(src)

	// The largest pack holds the data blobs.
	var packPath string
	var packSize int64
	filepath.Walk(filepath.Join(tr.repo, "data"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > packSize {
			packPath, packSize = p, fi.Size()
		}
		return nil
	})
	raw, err := os.ReadFile(packPath)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	os.WriteFile(packPath, raw, 0o600)
	packID := filepath.Base(packPath)

	target := filepath.Join(tr.dir, "restore")
	r := tr.run("restore", "latest", "--target", target)
	if r.code == 0 {
		t.Fatalf("restore from a corrupted pack succeeded")
	}
	if !strings.Contains(r.stderr, "precious.bin") || !strings.Contains(r.stderr, packID[:8]) {
		t.Errorf("restore error should name the file and pack %s: %q", packID[:8], r.stderr)
	}
	if got, err := os.ReadFile(filepath.Join(target, src, "precious.bin")); err == nil && bytes.Equal(got, data) == false && len(got) == len(data) {
		t.Errorf("restore left a full-size file with wrong content")
	}
	d := tr.run("dump", "latest", filepath.Join(src, "precious.bin"))
	if d.code == 0 {
		t.Fatalf("dump from a corrupted pack succeeded")
	}
	if !strings.Contains(d.stderr, packID[:8]) {
		t.Errorf("dump error should name pack %s: %q", packID[:8], d.stderr)
	}
}

// checkClean runs `check --read-data`, so every test that writes leaves a
// verified repository behind.
func (tr *testRepo) checkClean() {
	tr.t.Helper()
	tr.mustRun("check", "--read-data")
}

// TestChangedLargeFileIncremental: a large file changed in two places is
// compared with its parent's chunks instead of re-chunked
// (sources/fs/resync.go); its chunk list must be exactly that of a backup
// that ignores the parent (--force), and it must restore byte for byte.
func TestChangedLargeFileIncremental(t *testing.T) {
	tr := newTestRepo(t)
	src := filepath.Join(tr.dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(src, "big.img")
	data := make([]byte, 48<<20)
	mrand.New(mrand.NewSource(3)).Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tr.backup(src)

	data[20<<20] ^= 1
	data = append(data, make([]byte, 1<<20)...) // grows, with zeros
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	inc := tr.backup(src)
	if limit := int64(len(data)) / 4; inc.BytesAdded > limit {
		t.Errorf("incremental added %d bytes of %d, want < %d", inc.BytesAdded, len(data), limit)
	}
	full := tr.backup("--force", src)
	content := func(snap string) string {
		var tree struct {
			Nodes []struct {
				Name    string          `json:"name"`
				Content json.RawMessage `json:"content"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal([]byte(tr.mustRun("cat", "tree", snap+":"+src)), &tree); err != nil {
			t.Fatal(err)
		}
		if len(tree.Nodes) != 1 || tree.Nodes[0].Name != "big.img" {
			t.Fatalf("tree of %s: %+v", src, tree.Nodes)
		}
		return string(tree.Nodes[0].Content)
	}
	if a, b := content(inc.SnapshotID), content(full.SnapshotID); a != b || len(a) < 100 {
		t.Fatalf("incremental chunk list differs from the full backup's:\n%.300s\n%.300s", a, b)
	}
	target := filepath.Join(tr.dir, "restore")
	tr.mustRun("restore", inc.SnapshotID, "--target", target)
	got, err := os.ReadFile(filepath.Join(target, p))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored file differs (err %v)", err)
	}
	tr.checkClean()
}
