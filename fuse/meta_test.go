package fuse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

func TestMetadata(t *testing.T) {
	r := newMemRepo()
	mt := time.Date(1994, 7, 3, 12, 34, 56, 123456789, time.UTC)
	ct := mt.Add(time.Hour)
	at := mt.Add(2 * time.Hour)
	data := []byte("hardlinked content\n")
	hard := func(name string) *tree.Node {
		return &tree.Node{Name: name, Type: tree.TypeFile, Mode: 0o640, UID: 1234, GID: 5678, ModTime: mt,
			Links: 2, Inode: 77, DeviceID: 9, Size: uint64(len(data)), Content: r.content(data, 8),
			Xattrs: []tree.Xattr{{Name: "user.linked", Value: []byte{0, 1, 0xff}}, {Name: "user.empty"}}}
	}
	sub := r.tree(hard("h2"), &tree.Node{Name: "plain", Type: tree.TypeFile, Mode: 0o600, Inode: 78, DeviceID: 9, Links: 1})
	root := r.tree(
		hard("h1"),
		&tree.Node{Name: "dir", Type: tree.TypeDir, Mode: 0o2775, ModTime: mt, Links: 2, Subtree: &sub,
			Xattrs: []tree.Xattr{{Name: "user.dir", Value: []byte("on a dir")}}},
		&tree.Node{Name: "link", Type: tree.TypeSymlink, Mode: 0o777, LinkTarget: "../nowhere", UID: 42, ModTime: mt},
		&tree.Node{Name: "setuid", Type: tree.TypeFile, Mode: 0o4755, ModTime: mt, ChangeTime: ct, AccessTime: at},
		&tree.Node{Name: "none", Type: tree.TypeFile, Mode: 0, ModTime: mt},
		&tree.Node{Name: "chr", Type: tree.TypeCharDev, Mode: 0o666, Rdev: unix.Mkdev(1, 3), ModTime: mt},
		&tree.Node{Name: "blk", Type: tree.TypeDev, Mode: 0o660, Rdev: unix.Mkdev(259, 70000), ModTime: mt},
		&tree.Node{Name: "fifo", Type: tree.TypeFifo, Mode: 0o640, ModTime: mt},
		&tree.Node{Name: "sock", Type: tree.TypeSocket, Mode: 0o755, ModTime: mt},
	)
	r.snapshot(time.Now(), "h", nil, root)
	_, mnt := mountMem(t, r, Options{})
	base := filepath.Join(mnt, "latest")

	st := func(name string) unix.Stat_t {
		t.Helper()
		var s unix.Stat_t
		if err := unix.Lstat(filepath.Join(base, name), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		name       string
		mode       uint32
		uid, gid   uint32
		nlink      uint64
		size       int64
		rdev       uint64
		ctime, atm time.Time
	}{
		{"h1", unix.S_IFREG | 0o640, 1234, 5678, 2, int64(len(data)), 0, mt, mt},
		{"dir", unix.S_IFDIR | 0o2775, 0, 0, 2, 0, 0, mt, mt},
		{"link", unix.S_IFLNK | 0o777, 42, 0, 1, int64(len("../nowhere")), 0, mt, mt},
		{"setuid", unix.S_IFREG | 0o4755, 0, 0, 1, 0, 0, ct, at},
		{"none", unix.S_IFREG, 0, 0, 1, 0, 0, mt, mt},
		{"chr", unix.S_IFCHR | 0o666, 0, 0, 1, 0, unix.Mkdev(1, 3), mt, mt},
		{"blk", unix.S_IFBLK | 0o660, 0, 0, 1, 0, unix.Mkdev(259, 70000), mt, mt},
		{"fifo", unix.S_IFIFO | 0o640, 0, 0, 1, 0, 0, mt, mt},
		{"sock", unix.S_IFSOCK | 0o755, 0, 0, 1, 0, 0, mt, mt},
	} {
		s := st(c.name)
		if s.Mode != c.mode || s.Uid != c.uid || s.Gid != c.gid || uint64(s.Nlink) != c.nlink || s.Size != c.size || s.Rdev != c.rdev {
			t.Errorf("%s: mode %o uid %d gid %d nlink %d size %d rdev %x, want %o %d %d %d %d %x",
				c.name, s.Mode, s.Uid, s.Gid, s.Nlink, s.Size, s.Rdev, c.mode, c.uid, c.gid, c.nlink, c.size, c.rdev)
		}
		if got := time.Unix(s.Mtim.Unix()); !got.Equal(mt) {
			t.Errorf("%s: mtime %v, want %v", c.name, got, mt)
		}
		if got := time.Unix(s.Ctim.Unix()); !got.Equal(c.ctime) {
			t.Errorf("%s: ctime %v, want %v", c.name, got, c.ctime)
		}
		if got := time.Unix(s.Atim.Unix()); !got.Equal(c.atm) {
			t.Errorf("%s: atime %v, want %v", c.name, got, c.atm)
		}
	}

	// Hardlinks share an inode number, stable across lookups; other
	// entries do not.
	h1, h2, plain := st("h1"), st("dir/h2"), st("dir/plain")
	if h1.Ino != h2.Ino || h1.Ino == plain.Ino {
		t.Errorf("inodes: h1 %d, dir/h2 %d, dir/plain %d: want h1 == h2 != plain", h1.Ino, h2.Ino, plain.Ino)
	}
	if got, _ := os.ReadFile(filepath.Join(base, "dir/h2")); !bytes.Equal(got, data) {
		t.Errorf("dir/h2: %q", got)
	}
	if got := readlink(t, filepath.Join(base, "link")); got != "../nowhere" {
		t.Errorf("link -> %q", got)
	}

	// Extended attributes, on files, directories, and none elsewhere.
	buf := make([]byte, 256)
	n, err := unix.Llistxattr(filepath.Join(base, "dir/h2"), buf)
	if err != nil || string(buf[:n]) != "user.linked\x00user.empty\x00" {
		t.Errorf("listxattr: %q %v", buf[:n], err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(base, "h1"), "user.linked", buf); err != nil || !bytes.Equal(buf[:n], []byte{0, 1, 0xff}) {
		t.Errorf("getxattr: %q %v", buf[:n], err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(base, "h1"), "user.linked", nil); err != nil || n != 3 {
		t.Errorf("getxattr size query: %d %v", n, err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(base, "h1"), "user.linked", buf[:1]); !errors.Is(err, unix.ERANGE) {
		t.Errorf("getxattr into a short buffer: %v, want ERANGE", err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(base, "dir"), "user.dir", buf); err != nil || string(buf[:n]) != "on a dir" {
		t.Errorf("getxattr dir: %q %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(base, "link"), "user.x", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("getxattr of a missing attribute: %v, want ENODATA", err)
	}
}

func TestReadOnly(t *testing.T) {
	r := newMemRepo()
	sub := r.tree()
	root := r.tree(
		&tree.Node{Name: "f", Type: tree.TypeFile, Mode: 0o666, Content: r.content([]byte("data"), 4)},
		&tree.Node{Name: "d", Type: tree.TypeDir, Mode: 0o777, Subtree: &sub})
	r.snapshot(time.Now(), "h", nil, root)
	_, mnt := mountMem(t, r, Options{})
	base := filepath.Join(mnt, "latest")
	f := filepath.Join(base, "f")
	for what, err := range map[string]error{
		"open for writing": openErr(f, os.O_WRONLY),
		"open read-write":  openErr(f, os.O_RDWR),
		"truncate":         os.Truncate(f, 0),
		"create":           openErr(filepath.Join(base, "new"), os.O_CREATE|os.O_WRONLY),
		"mkdir":            os.Mkdir(filepath.Join(base, "d", "x"), 0o755),
		"remove":           os.Remove(f),
		"rename":           os.Rename(f, filepath.Join(base, "g")),
		"chmod":            os.Chmod(f, 0o600),
		"setxattr":         unix.Setxattr(f, "user.x", []byte("y"), 0),
		"symlink":          os.Symlink("f", filepath.Join(base, "s")),
		"mkdir at top":     os.Mkdir(filepath.Join(mnt, "snapshots", "x"), 0o755),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", what, err)
		}
	}
	if got, err := os.ReadFile(f); err != nil || string(got) != "data" {
		t.Errorf("after the attempts, f is %q (%v)", got, err)
	}
}

func openErr(p string, flag int) error {
	f, err := os.OpenFile(p, flag, 0o644)
	if err == nil {
		f.Close()
	}
	return err
}
