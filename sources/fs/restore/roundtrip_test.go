package restore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/repo/tree"
	"cairn/sources/fs/fstest"
)

// snapshotDir is a tiny walker that records dir into the fake repository
// the way the archiver does (the root tree holds dir's entries), so that the
// restore tests do not depend on the archiver. Content is cut into 1 MiB
// pieces; an all-zero piece becomes a hole.
func snapshotDir(t *testing.T, f *fakeRepo, dir string) crypto.ID {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*tree.Node
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		n := &tree.Node{
			Name: e.Name(), Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid,
			ModTime: time.Unix(st.Mtim.Unix()), AccessTime: time.Unix(st.Atim.Unix()),
			Inode: st.Ino, DeviceID: st.Dev, Links: st.Nlink, Rdev: st.Rdev,
			Xattrs: readXattrs(t, p),
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			n.Type = tree.TypeDir
			id := snapshotDir(t, f, p)
			n.Subtree = &id
		case unix.S_IFREG:
			n.Type = tree.TypeFile
			n.Content = chunkFile(t, f, p)
			n.Size = n.ContentSize()
		case unix.S_IFLNK:
			n.Type = tree.TypeSymlink
			if n.LinkTarget, err = os.Readlink(p); err != nil {
				t.Fatal(err)
			}
		case unix.S_IFIFO:
			n.Type = tree.TypeFifo
		case unix.S_IFCHR:
			n.Type = tree.TypeCharDev
		case unix.S_IFBLK:
			n.Type = tree.TypeDev
		case unix.S_IFSOCK:
			n.Type = tree.TypeSocket
		}
		nodes = append(nodes, n)
	}
	return f.saveTree(t, nodes...)
}

func chunkFile(t *testing.T, f *fakeRepo, p string) []tree.Chunk {
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var chunks []tree.Chunk
	buf, zero := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(fh, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				chunks = append(chunks, hole(uint64(n)))
			} else {
				chunks = append(chunks, f.chunk(buf[:n]))
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return chunks
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func readXattrs(t *testing.T, p string) []tree.Xattr {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("llistxattr %s: %v", p, err)
	}
	var out []tree.Xattr
	for _, name := range bytes.Split(buf[:n], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, string(name), val)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tree.Xattr{Name: string(name), Value: val[:m]})
	}
	return out
}

// removeFromFixture deletes the entries for which drop is true, keeping
// their directories' mtimes.
func removeFromFixture(t *testing.T, dir string, drop func(os.FileInfo) bool) {
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !drop(fi) {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Dir(p), &st); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		return unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Dir(p), []unix.Timespec{st.Atim, st.Mtim}, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRoundTripFixture records the shared fixture, restores it and compares
// the trees with fstest.CompareTrees (content, metadata to the nanosecond,
// xattrs, hardlinks, devices, sparseness); then it extracts Dump's tar with
// GNU tar and compares that too, except for sparseness.
func TestRoundTripFixture(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	fstest.MakeFixture(t, src)
	f := newFakeRepo()
	root := snapshotDir(t, f, src)
	target := t.TempDir()
	st := mustRestore(t, f, root, target, Options{Verify: true, Workers: 4})
	if len(st.Errors) != 0 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
	fstest.CompareTrees(t, src, target)

	// Restoring again with if-changed rewrites nothing and changes nothing.
	st = mustRestore(t, f, root, target, Options{Overwrite: OverwriteIfChanged})
	if st.Files != 0 {
		t.Errorf("second restore wrote %d files", st.Files)
	}
	fstest.CompareTrees(t, src, target)

	// tar has no sockets: Dump leaves them out.
	removeFromFixture(t, src, func(fi os.FileInfo) bool { return fi.Mode()&os.ModeSocket != 0 })
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar to cross-check Dump with")
	}
	var buf bytes.Buffer
	if err := Dump(t.Context(), f, root, "/", &buf); err != nil {
		t.Fatal(err)
	}
	ex := t.TempDir()
	cmd := exec.Command(gnutar, "-x", "-p", "--same-owner", "--xattrs", "--xattrs-include=*", "-C", ex, "-f", "-")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	// tar writes holes as data: compare everything but the sparse files.
	for _, d := range []string{"sparse"} {
		if err := os.RemoveAll(filepath.Join(ex, d)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "sparse" {
			fstest.CompareTrees(t, filepath.Join(src, e.Name()), filepath.Join(ex, e.Name()))
		}
	}
}
