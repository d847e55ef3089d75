// Package fstest builds file trees that exercise everything a filesystem
// backup must record, and compares two trees the way a restore must
// reproduce them. It is shared by the archiver's, the restorer's and the
// command's tests.
package fstest

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SparseHole is the length of the hole in the fixture's sparse files.
const SparseHole = 64 << 20

// OldTime is the modification time given to the fixture's "old" entries:
// before 2000, with nanoseconds, so that truncated times are noticed.
var OldTime = time.Date(1994, 7, 3, 12, 34, 56, 123456789, time.UTC)

// MakeFixture creates dir (if needed) and fills it with every kind of entry
// a backup must handle: regular files of several sizes (empty, tiny, a few
// chunks), an all-zero file, empty and nested directories, a file with
// three hardlinks in different directories, absolute, relative and
// dangling symlinks, sparse files with a hole of SparseHole bytes, user
// xattrs (skipped with a logged reason where unsupported), a fifo, a unix
// socket, character and block devices (as root), names with unicode,
// newlines and other odd bytes, setuid, setgid and sticky bits, a foreign
// owner (as root), and old modification times with nanoseconds, on
// directories too. Content is pseudo-random with a fixed seed.
func MakeFixture(t testing.TB, dir string) {
	t.Helper()
	f := &fixture{t: t, dir: dir, rng: rand.New(rand.NewSource(1))}
	f.mkdir(".", 0o755)
	f.regular()
	f.hardlinks()
	f.symlinks()
	f.sparse()
	f.special()
	f.names()
	f.perms()
	f.xattrs()
	f.times()
	// Let the kernel's coarse clock pass the ctimes just set. readlink
	// updates a link's atime (relatime: while atime <= ctime) to the coarse
	// time, which within the same tick is still <= the fine-grained ctime:
	// the next readlink would then move the atime again, and a backup taken
	// right after the fixture was made would differ from the next one in
	// the link's atime alone.
	time.Sleep(20 * time.Millisecond)
}

type fixture struct {
	t   testing.TB
	dir string
	rng *rand.Rand
}

func (f *fixture) path(rel string) string { return filepath.Join(f.dir, rel) }

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("make fixture: %v", err)
	}
}

func (f *fixture) mkdir(rel string, mode os.FileMode) {
	f.t.Helper()
	f.check(os.MkdirAll(f.path(rel), 0o755))
	f.check(os.Chmod(f.path(rel), mode))
}

func (f *fixture) file(rel string, data []byte, mode os.FileMode) {
	f.t.Helper()
	f.check(os.MkdirAll(filepath.Dir(f.path(rel)), 0o755))
	f.check(os.WriteFile(f.path(rel), data, 0o600))
	f.check(os.Chmod(f.path(rel), mode))
}

func (f *fixture) random(n int) []byte {
	b := make([]byte, n)
	f.rng.Read(b)
	return b
}

func (f *fixture) regular() {
	f.file("files/empty", nil, 0o644)
	f.file("files/one", []byte("x"), 0o644)
	f.file("files/small.txt", []byte(strings.Repeat("hello cairn\n", 9)), 0o644)
	f.file("files/page", f.random(4096), 0o640)
	f.file("files/mib-plus", f.random(1<<20+7), 0o644)
	f.file("files/several-chunks", f.random(3<<20+12345), 0o600)
	f.file("files/zeros", make([]byte, 2<<20), 0o644) // written, so not sparse
	f.file("nested/a/b/c/d/deep.txt", []byte("deep\n"), 0o644)
	f.mkdir("empty-dir", 0o755)
	f.mkdir("nested/empty", 0o700)
}

func (f *fixture) hardlinks() {
	f.file("links/hard1", f.random(70000), 0o644)
	f.mkdir("links/sub", 0o755)
	f.check(os.Link(f.path("links/hard1"), f.path("links/sub/hard2")))
	f.check(os.Link(f.path("links/hard1"), f.path("files/hard3")))
	// Two links to an empty file: every empty file has the same content,
	// but only these two share an inode.
	f.file("links/empty-a", nil, 0o644)
	f.check(os.Link(f.path("links/empty-a"), f.path("links/empty-b")))
}

func (f *fixture) symlinks() {
	f.mkdir("symlinks", 0o755)
	f.check(os.Symlink(f.path("files/small.txt"), f.path("symlinks/absolute")))
	f.check(os.Symlink("../files/small.txt", f.path("symlinks/relative")))
	f.check(os.Symlink("../does/not/exist", f.path("symlinks/dangling")))
	f.check(os.Symlink("../nested", f.path("symlinks/to-dir")))
	f.check(os.Symlink("/", f.path("symlinks/to-root")))
}

// sparse makes files whose holes must be recorded, not read.
func (f *fixture) sparse() {
	f.mkdir("sparse", 0o755)
	// data | 64 MiB hole | data | trailing hole
	p := f.path("sparse/middle-hole.img")
	fh, err := os.Create(p)
	f.check(err)
	_, err = fh.WriteAt(f.random(1<<20), 0)
	f.check(err)
	_, err = fh.WriteAt(f.random(100<<10), 1<<20+SparseHole)
	f.check(err)
	f.check(fh.Truncate(1<<20 + SparseHole + 100<<10 + 8<<20))
	f.check(fh.Close())
	// hole | data
	fh, err = os.Create(f.path("sparse/leading-hole.img"))
	f.check(err)
	_, err = fh.WriteAt(f.random(4096), SparseHole)
	f.check(err)
	f.check(fh.Close())
	// nothing but a hole
	f.check(os.WriteFile(f.path("sparse/all-hole.img"), nil, 0o644))
	f.check(os.Truncate(f.path("sparse/all-hole.img"), SparseHole+12345))
	var st unix.Stat_t
	f.check(unix.Stat(p, &st))
	if st.Blocks*512 >= st.Size {
		f.t.Logf("make fixture: %s is not sparse on this file system (%d blocks for %d bytes)", p, st.Blocks, st.Size)
	}
}

func (f *fixture) special() {
	f.mkdir("special", 0o755)
	f.check(unix.Mkfifo(f.path("special/fifo"), 0o640))
	f.socket(f.path("special/socket"))
	if os.Geteuid() != 0 {
		f.t.Logf("make fixture: not root, no device nodes")
		return
	}
	if err := unix.Mknod(f.path("special/chardev"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		f.t.Logf("make fixture: no device nodes: %v", err)
		return
	}
	f.check(unix.Mknod(f.path("special/blockdev"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 200))))
}

// socket leaves a unix socket file behind: closing the listener would
// remove it, so the socket is bound by hand and only the fd is closed.
func (f *fixture) socket(p string) {
	if len(p) >= 108 {
		f.t.Logf("make fixture: path too long for a unix socket, none made: %s", p)
		return
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	f.check(err)
	defer unix.Close(fd)
	f.check(unix.Bind(fd, &unix.SockaddrUnix{Name: p}))
}

func (f *fixture) names() {
	for _, n := range []string{
		"unicode ħéllo wörld ☃ 日本.txt",
		"new\nline",
		"tab\there",
		"back\\slash",
		" leading space",
		"trailing space ",
		"-dash",
		"*star?[x]",
		"latin1-\xe9\xff", // not valid UTF-8
		strings.Repeat("n", 255),
	} {
		f.file(filepath.Join("names", n), []byte(n), 0o644)
	}
	f.mkdir("names/dir ☃\nnl", 0o755)
	f.file("names/dir ☃\nnl/inside", []byte("inside\n"), 0o644)
}

func (f *fixture) perms() {
	f.file("perms/setuid", []byte("#!/bin/sh\n"), 0o755|os.ModeSetuid)
	f.file("perms/setgid", []byte("#!/bin/sh\n"), 0o750|os.ModeSetgid)
	f.file("perms/readonly", []byte("ro\n"), 0o400)
	f.file("perms/none", []byte("none\n"), 0)
	f.mkdir("perms/sticky", 0o777|os.ModeSticky)
	f.mkdir("perms/setgid-dir", 0o775|os.ModeSetgid)
	f.file("perms/sticky/inside", []byte("x"), 0o666)
	if os.Geteuid() == 0 {
		f.file("perms/foreign-owner", []byte("owned\n"), 0o644)
		f.check(os.Lchown(f.path("perms/foreign-owner"), 1234, 5678))
		f.check(os.Lchown(f.path("symlinks/relative"), 4321, 8765))
	}
}

func (f *fixture) xattrs() {
	f.file("xattr/file", []byte("has xattrs\n"), 0o644)
	f.mkdir("xattr/dir", 0o755)
	err := unix.Lsetxattr(f.path("xattr/file"), "user.comment", []byte("a comment"), 0)
	if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
		f.t.Logf("make fixture: user xattrs not supported here, none set: %v", err)
		return
	}
	f.check(err)
	f.check(unix.Lsetxattr(f.path("xattr/file"), "user.binary", []byte{0, 1, 2, 0xff, 0}, 0))
	f.check(unix.Lsetxattr(f.path("xattr/file"), "user.empty", nil, 0))
	f.check(unix.Lsetxattr(f.path("xattr/dir"), "user.dir", []byte("on a directory"), 0))
	f.check(unix.Lsetxattr(f.path("links/hard1"), "user.linked", []byte("shared by all links"), 0))
}

// times sets old times last, directories after their contents (adding an
// entry updates a directory's mtime) and deepest first.
func (f *fixture) times() {
	old := unix.NsecToTimespec(OldTime.UnixNano())
	for _, rel := range []string{
		"files/one", "files/mib-plus", "names/-dash", "symlinks/relative",
		"special/fifo", "sparse/middle-hole.img", "perms/setuid",
		"nested/a/b/c/d", "nested/a/b/c", "nested/a", "empty-dir", "perms/sticky",
	} {
		ts := []unix.Timespec{old, old}
		f.check(unix.UtimesNanoAt(unix.AT_FDCWD, f.path(rel), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}
