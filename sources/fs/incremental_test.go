package fs

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cairn/sources/fs/fstest"
)

// TestParentUnchangedReadsNothing: a second backup of an unchanged tree
// with the first as parent reads no content and yields the same root.
func TestParentUnchangedReadsNothing(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "fixture")
	fstest.MakeFixture(t, dir)
	r := newMemRepo()
	first := backup(t, r, []string{dir}, Options{})
	second := backup(t, r, []string{dir}, Options{ParentRoot: &first.Root})
	// The root tree holds /tmp's metadata, which other tests change at any
	// time: the tree must be the same from the test's own directory down.
	sub := func(res *Result) string { return snapshot(t, r, res.Root)[tmp].Subtree.String() }
	if sub(second) != sub(first) {
		t.Errorf("tree of %s changed without changes on disk", tmp)
	}
	s1, s2 := first.Stats, second.Stats
	if s2.BytesRead != 0 {
		t.Errorf("second backup read %d bytes, want 0", s2.BytesRead)
	}
	if s2.FilesUnmodified != s1.FilesNew || s2.FilesNew != 0 || s2.FilesChanged != 0 {
		t.Errorf("files new/changed/unmodified = %d/%d/%d, want 0/0/%d", s2.FilesNew, s2.FilesChanged, s2.FilesUnmodified, s1.FilesNew)
	}
	// Directory counts compare subtree ids, which /tmp's own metadata is
	// not part of.
	if s2.DirsUnmodified != s1.DirsNew || s2.DirsNew != 0 || s2.DirsChanged != 0 {
		t.Errorf("dirs new/changed/unmodified = %d/%d/%d, want 0/0/%d", s2.DirsNew, s2.DirsChanged, s2.DirsUnmodified, s1.DirsNew)
	}
	// Without a parent everything is read again, and still deduplicates
	// to the same root.
	third := backup(t, r, []string{dir}, Options{})
	if sub(third) != sub(first) || third.Stats.BytesRead != s1.BytesRead {
		t.Errorf("backup without parent: read %d, want %d and the same tree", third.Stats.BytesRead, s1.BytesRead)
	}
}

// TestParentChangedFilesOnly changes 1% of 300 files in the ways the
// parent rule must notice, and checks that only they are read.
func TestParentChangedFilesOnly(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(2))
	var files []string
	for i := 0; i < 300; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%17))
		mkdirs(t, sub)
		p := filepath.Join(sub, fmt.Sprintf("f%03d", i))
		buf := make([]byte, 1000+rng.Intn(9000))
		rng.Read(buf)
		writeFile(t, p, buf)
		files = append(files, p)
	}
	r := newMemRepo()
	first := backup(t, r, []string{dir}, Options{Workers: 2})

	var want int64
	// 1. Touched only: same content, new mtime.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(files[10], future, future); err != nil {
		t.Fatal(err)
	}
	// 2. Rewritten with the same size, then its mtime put back: only the
	// ctime tells.
	var st unix.Stat_t
	if err := unix.Lstat(files[150], &st); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(files[150])
	data[0] ^= 0xff
	writeFile(t, files[150], data)
	if err := unix.UtimesNano(files[150], []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		t.Fatal(err)
	}
	// 3. Replaced by a copy (new inode) with identical size and mtime.
	data, _ = os.ReadFile(files[298])
	if err := unix.Lstat(files[298], &st); err != nil {
		t.Fatal(err)
	}
	tmp := files[298] + ".new"
	writeFile(t, tmp, data)
	if err := unix.UtimesNano(tmp, []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, files[298]); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{10, 150, 298} {
		fi, _ := os.Stat(files[i])
		want += fi.Size()
	}

	second := backup(t, r, []string{dir}, Options{ParentRoot: &first.Root, Workers: 2})
	s := second.Stats
	if s.BytesRead != want {
		t.Errorf("read %d bytes, want %d (the three changed files)", s.BytesRead, want)
	}
	if s.FilesChanged != 3 || s.FilesUnmodified != 297 || s.FilesNew != 0 {
		t.Errorf("files new/changed/unmodified = %d/%d/%d, want 0/3/297", s.FilesNew, s.FilesChanged, s.FilesUnmodified)
	}
	// Three of 17 directories changed, plus the backed-up directory and
	// its ancestors.
	if s.DirsChanged != 3+int64(len(splitAbs(dir))) || s.DirsUnmodified != 14 {
		t.Errorf("dirs changed/unmodified = %d/%d, want %d/14", s.DirsChanged, s.DirsUnmodified, 3+len(splitAbs(dir)))
	}
	nodes := snapshot(t, r, second.Root)
	if got := r.content(t, nodes[files[150]]); string(got) != readString(t, files[150]) {
		t.Errorf("changed file's content not stored")
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParentXattrChangeNoticed: xattrs of an unchanged file are taken from
// the parent (no llistxattr), which is right only because setting or
// removing one updates the ctime; an xattr set or removed between two
// backups must show in the second.
func TestParentXattrChangeNoticed(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, []byte("alpha"))
	writeFile(t, b, []byte("beta"))
	if err := unix.Lsetxattr(b, "user.old", []byte("1"), 0); err != nil {
		t.Skipf("no user xattrs on %s: %v", dir, err) // tmpfs without user_xattr
	}
	r := newMemRepo()
	first := backup(t, r, []string{dir}, Options{})
	if err := unix.Lsetxattr(a, "user.new", []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lremovexattr(b, "user.old"); err != nil {
		t.Fatal(err)
	}
	second := backup(t, r, []string{dir}, Options{ParentRoot: &first.Root})
	nodes := snapshot(t, r, second.Root)
	if x := nodes[a].Xattrs; len(x) != 1 || x[0].Name != "user.new" || string(x[0].Value) != "v2" {
		t.Errorf("a: xattrs %v, want user.new=v2", x)
	}
	if x := nodes[b].Xattrs; len(x) != 0 {
		t.Errorf("b: xattrs %v, want none", x)
	}
	// Unchanged since: the third backup takes them from the parent.
	third := backup(t, r, []string{dir}, Options{ParentRoot: &second.Root})
	if x := snapshot(t, r, third.Root)[a].Xattrs; len(x) != 1 || x[0].Name != "user.new" {
		t.Errorf("a after an unchanged backup: xattrs %v", x)
	}
}
