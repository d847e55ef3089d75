package fs

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
	"cairn/sources/fs/fstest"
)

// TestBackupFixtureMatchesLstat backs up the shared fixture and checks
// every node against lstat, every file's content against the file, and
// that holes were recorded and not read.
func TestBackupFixtureMatchesLstat(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "fixture")
	fstest.MakeFixture(t, dir)
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{Workers: 3})
	// Every entry of the fixture, the Latin-1 name included, is stored.
	if res.Partial || len(res.Stats.Errors) != 0 {
		t.Fatalf("partial=%v errors %v, want a complete snapshot", res.Partial, res.Stats.Errors)
	}
	all := snapshot(t, r, res.Root)
	// The root tree mirrors the absolute path, with the real directories'
	// metadata on the way. Above the test's own directory (/tmp) other
	// tests change times and link counts concurrently: only the inode
	// is compared there.
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		n := all[p]
		if n == nil {
			t.Fatalf("snapshot has no node for ancestor %s", p)
		}
		if within(p, tmp) {
			checkNode(t, p, n)
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || n.Type != tree.TypeDir || n.Inode != st.Ino {
			t.Errorf("ancestor %s: node %+v, want inode %d (%v)", p, n, st.Ino, err)
		}
	}
	nodes := under(all, dir)
	checkNode(t, dir, all[dir])

	var nonDirs, dirs int64
	var uniqueSize int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		n := nodes[rel]
		if n == nil {
			t.Errorf("%q: not in snapshot", rel)
			return nil
		}
		delete(nodes, rel)
		st := checkNode(t, p, n)
		if d.IsDir() {
			dirs++
			return nil
		}
		nonDirs++
		if n.Type == tree.TypeFile {
			want := readNoatime(t, p)
			if got := r.content(t, n); !bytes.Equal(got, want) {
				t.Errorf("%q: content differs (%d bytes, want %d)", rel, len(got), len(want))
			}
			if !seen[st.Ino] {
				seen[st.Ino] = true
				uniqueSize += st.Size
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range nodes {
		t.Errorf("%q: in snapshot but not on disk", rel)
	}
	s := res.Stats
	if s.FilesNew != nonDirs || s.TotalFiles != nonDirs || s.FilesChanged+s.FilesUnmodified != 0 {
		t.Errorf("files new/changed/unmodified/total = %d/%d/%d/%d, want %d new", s.FilesNew, s.FilesChanged, s.FilesUnmodified, s.TotalFiles, nonDirs)
	}
	// +1: the fixture directory itself, plus its ancestors.
	if wantDirs := dirs + 1 + int64(len(splitAbs(filepath.Dir(dir)))); s.DirsNew != wantDirs {
		t.Errorf("DirsNew = %d, want %d", s.DirsNew, wantDirs)
	}

	// Holes: the three sparse files hold 64+8, 64 and 64 MiB+12345 bytes
	// of holes, which must be recorded as holes and never read.
	holes := int64(fstest.SparseHole+8<<20) + fstest.SparseHole + fstest.SparseHole + 12345
	if !isSparse(t, filepath.Join(dir, "sparse/middle-hole.img")) {
		t.Skip("file system does not keep sparse files: hole checks skipped")
	}
	if want := uniqueSize - holes; s.BytesRead != want {
		t.Errorf("BytesRead = %d, want %d (%d bytes of content less %d of holes; hardlinks read once)", s.BytesRead, want, uniqueSize, holes)
	}
	mid := all[filepath.Join(dir, "sparse/middle-hole.img")]
	var holeChunks []uint64
	for _, c := range mid.Content {
		if c.IsHole() {
			holeChunks = append(holeChunks, c.Size)
		}
	}
	if len(holeChunks) != 2 || holeChunks[0] != fstest.SparseHole || holeChunks[1] != 8<<20 {
		t.Errorf("middle-hole.img holes %v, want [%d %d]", holeChunks, fstest.SparseHole, 8<<20)
	}
	// Hardlinks: every link carries the inode and link count, and the same
	// content list.
	h1, h2, h3 := all[filepath.Join(dir, "links/hard1")], all[filepath.Join(dir, "links/sub/hard2")], all[filepath.Join(dir, "files/hard3")]
	if h1.Inode != h2.Inode || h1.Inode != h3.Inode || h1.Links != 3 || len(h1.Content) == 0 ||
		h2.Content[0] != h1.Content[0] || h3.Content[0] != h1.Content[0] {
		t.Errorf("hardlinks not recorded as one inode with shared content: %+v %+v %+v", h1, h2, h3)
	}
}

// checkNode compares a node with an independent lstat of p and returns it.
func checkNode(t *testing.T, p string, n *tree.Node) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	types := map[uint32]string{unix.S_IFREG: tree.TypeFile, unix.S_IFDIR: tree.TypeDir, unix.S_IFLNK: tree.TypeSymlink,
		unix.S_IFBLK: tree.TypeDev, unix.S_IFCHR: tree.TypeCharDev, unix.S_IFIFO: tree.TypeFifo, unix.S_IFSOCK: tree.TypeSocket}
	ts := func(t unix.Timespec) time.Time { return time.Unix(t.Sec, t.Nsec) }
	want := tree.Node{
		Name: filepath.Base(p), Type: types[st.Mode&unix.S_IFMT], Mode: st.Mode & 0o7777,
		UID: st.Uid, GID: st.Gid, Inode: st.Ino, DeviceID: st.Dev, Links: uint64(st.Nlink),
	}
	got := tree.Node{
		Name: n.Name, Type: n.Type, Mode: n.Mode, UID: n.UID, GID: n.GID,
		Inode: n.Inode, DeviceID: n.DeviceID, Links: n.Links,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q: node %+v, want %+v", p, got, want)
	}
	if !n.ModTime.Equal(ts(st.Mtim)) || !n.ChangeTime.Equal(ts(st.Ctim)) {
		t.Errorf("%q: mtime/ctime %v/%v, want %v/%v", p, n.ModTime, n.ChangeTime, ts(st.Mtim), ts(st.Ctim))
	}
	if n.Type != tree.TypeDir && !n.AccessTime.Equal(ts(st.Atim)) {
		t.Errorf("%q: atime %v, want %v", p, n.AccessTime, ts(st.Atim))
	}
	switch n.Type {
	case tree.TypeFile:
		if n.Size != uint64(st.Size) || n.ContentSize() != n.Size {
			t.Errorf("%q: size %d, content %d, want %d", p, n.Size, n.ContentSize(), st.Size)
		}
	case tree.TypeSymlink:
		target, _ := os.Readlink(p)
		if n.LinkTarget != target {
			t.Errorf("%q: link target %q, want %q", p, n.LinkTarget, target)
		}
	case tree.TypeDev, tree.TypeCharDev:
		if n.Rdev != st.Rdev {
			t.Errorf("%q: rdev %d, want %d", p, n.Rdev, st.Rdev)
		}
	case tree.TypeDir:
		if n.Subtree == nil {
			t.Errorf("%q: directory without subtree", p)
		}
	}
	if n.Error != "" {
		t.Errorf("%q: error %q", p, n.Error)
	}
	if st.Uid == 0 && n.User != "root" || st.Gid == 0 && n.Group != "root" {
		t.Errorf("%q: owner names %q:%q, want root", p, n.User, n.Group)
	}
	checkXattrs(t, p, n.Xattrs)
	return &st
}

// checkXattrs compares with the xattrs read by hand, names sorted.
func checkXattrs(t *testing.T, p string, got []tree.Xattr) {
	t.Helper()
	buf := make([]byte, 1<<16)
	sz, err := unix.Llistxattr(p, buf)
	if err != nil {
		sz = 0
	}
	var names []string
	for _, b := range bytes.Split(buf[:sz], []byte{0}) {
		if len(b) > 0 {
			names = append(names, string(b))
		}
	}
	sort.Strings(names)
	if len(names) != len(got) {
		t.Errorf("%q: xattrs %v, want names %v", p, got, names)
		return
	}
	for i, name := range names {
		val := make([]byte, 1<<16)
		m, _ := unix.Lgetxattr(p, name, val)
		if got[i].Name != name || !bytes.Equal(got[i].Value, val[:m]) {
			t.Errorf("%q: xattr %d = %s=%q, want %s=%q", p, i, got[i].Name, got[i].Value, name, val[:m])
		}
	}
}

// readNoatime reads a file without updating its atime, which later
// checks of other links to it compare.
func readNoatime(t *testing.T, p string) []byte {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOATIME, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isSparse(t *testing.T, p string) bool {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks*512 < st.Size/2
}

func splitAbs(p string) []string {
	var out []string
	for ; p != "/"; p = filepath.Dir(p) {
		out = append(out, filepath.Base(p))
	}
	return out
}
