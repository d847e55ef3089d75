package fs

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

func TestMatcher(t *testing.T) {
	cases := []struct {
		pattern string
		path    string
		isDir   bool
		want    bool
	}{
		{"*.o", "/src/a.o", false, true},
		{"*.o", "/src/a.c", false, false},
		{"*.o", "/deep/er/x.o", false, true},
		{"name", "/a/name", false, true},
		{"name", "/a/name", true, true},
		{"name", "/a/names", false, false},
		{"/abs/path", "/abs/path", true, true},
		{"/abs/path", "/x/abs/path", true, false},
		{"/abs/*", "/abs/q", false, true},
		{"dir/**", "/x/dir/a/b", false, true},
		{"dir/**", "/x/dir", true, true}, // ** matches zero components, as in restic
		{"dir/**", "/x/other/a", false, false},
		{"/a/**/z", "/a/z", false, true},
		{"/a/**/z", "/a/b/c/z", false, true},
		{"/a/**/z", "/a/b/c/y", false, false},
		{"a/b", "/x/a/b", false, true},
		{"a/b", "/x/a/c/b", false, false},
		{"cache/", "/x/cache", true, true},
		{"cache/", "/x/cache", false, false},
		{"[ab]?.txt", "/q/bx.txt", false, true},
		{"**/**/*.tmp", "/q/r.tmp", false, true},
	}
	for _, c := range cases {
		m, err := newMatcher([]string{c.pattern}, nil)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := m.excluded(c.path, c.isDir); got != c.want {
			t.Errorf("pattern %q path %q dir=%v: excluded=%v, want %v", c.pattern, c.path, c.isDir, got, c.want)
		}
	}
	m, _ := newMatcher([]string{"/abs/path"}, nil)
	if !m.excludedOrUnder("/abs/path/below/x", false) || m.excludedOrUnder("/abs/pathx", false) {
		t.Errorf("excludedOrUnder: ancestors not checked")
	}
	for _, bad := range []string{"[", "a/[x", "/"} {
		if _, err := newMatcher([]string{bad}, nil); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
	if _, err := newMatcher(nil, []string{"/does/not/exist"}); err == nil {
		t.Errorf("missing exclude file accepted")
	}
}

// TestBackupExcludes checks patterns from options and from a file, and
// --exclude-caches, on a real backup.
func TestBackupExcludes(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "src/build/obj"), filepath.Join(dir, "skipme/sub"),
		filepath.Join(dir, "keep"), filepath.Join(dir, "cache/sub"), filepath.Join(dir, "fakecache"))
	for _, f := range []string{"src/a.c", "src/a.o", "src/build/obj/x", "skipme/sub/f", "keep/f",
		"keep/node_modules", "keep/notes.txt", "cache/data", "cache/sub/more", "fakecache/data"} {
		writeFile(t, filepath.Join(dir, f), []byte(f))
	}
	writeFile(t, filepath.Join(dir, "cache/CACHEDIR.TAG"), []byte(cacheTagSignature+"\n# made by a test\n"))
	writeFile(t, filepath.Join(dir, "fakecache/CACHEDIR.TAG"), []byte("Signature: not the right one"))
	exf := filepath.Join(t.TempDir(), "excludes")
	writeFile(t, exf, []byte("# comment\n\n  *.txt  \nnode_modules\n"))

	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{
		Excludes:      []string{"*.o", filepath.Join(dir, "skipme"), "build/**"},
		ExcludeFiles:  []string{exf},
		ExcludeCaches: true,
	})
	got := sortedKeys(under(snapshot(t, r, res.Root), dir))
	want := []string{"cache", "cache/CACHEDIR.TAG", "fakecache", "fakecache/CACHEDIR.TAG", "fakecache/data",
		"keep", "keep/f", "src", "src/a.c"}
	if !equalStrings(got, want) {
		t.Errorf("snapshot holds %q\nwant %q", got, want)
	}
	// A backup path that is itself excluded is not backed up.
	res = backup(t, r, []string{filepath.Join(dir, "src/a.o")}, Options{Excludes: []string{"*.o"}})
	if n := len(snapshot(t, r, res.Root)); n != len(splitAbs(filepath.Join(dir, "src"))) {
		t.Errorf("excluded backup path: snapshot has %d nodes, want only its ancestors", n)
	}
}

// TestOneFileSystem mounts a tmpfs inside the tree (root only).
func TestOneFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	mkdirs(t, mnt)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "cairn-test", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	writeFile(t, filepath.Join(dir, "outside"), []byte("x"))
	writeFile(t, filepath.Join(mnt, "inside"), []byte("y"))
	mkdirs(t, filepath.Join(mnt, "subdir"))

	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{OneFileSystem: true})
	got := sortedKeys(under(snapshot(t, r, res.Root), dir))
	if want := []string{"mnt", "outside"}; !equalStrings(got, want) {
		t.Errorf("one-file-system snapshot %q, want %q", got, want)
	}
	res = backup(t, r, []string{dir}, Options{})
	got = sortedKeys(under(snapshot(t, r, res.Root), dir))
	if want := []string{"mnt", "mnt/inside", "mnt/subdir", "outside"}; !equalStrings(got, want) {
		t.Errorf("snapshot %q, want %q", got, want)
	}
	// A backup path on the other file system is walked: the rule is
	// relative to where each path starts.
	res = backup(t, r, []string{mnt}, Options{OneFileSystem: true})
	if got := sortedKeys(under(snapshot(t, r, res.Root), mnt)); len(got) != 2 {
		t.Errorf("backup of the mount itself %q, want its two entries", got)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
