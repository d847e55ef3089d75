package restore

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

const (
	unicodeName = "ünï cödé\nnewline"
	holeSize    = 64 << 20
)

// fullSnapshot builds a snapshot holding every node type under /data.
func fullSnapshot(t testing.TB, f *fakeRepo) crypto.ID {
	plain := file("plain.txt", 0o640, f.chunk([]byte("hello ")), f.chunk([]byte("world\n")))
	plain.UID, plain.GID, plain.User, plain.Group = 1000, 1001, "u", "g"
	plain.Xattrs = []tree.Xattr{{Name: "user.cairn", Value: []byte("v\x00bin")}}

	setuid := f.textFile("setuid", 0o4755|0o2000, "#!/bin/sh\n")
	setuid.UID, setuid.GID = 1234, 5678

	sparse := file("sparse.img", 0o600,
		f.chunk(pattern4K('h')), hole(holeSize), f.chunk(make([]byte, 1<<20)), f.chunk([]byte("tail")), hole(8192))

	linked := func(name string) *tree.Node {
		n := f.textFile(name, 0o644, "linked content\n")
		n.Inode, n.DeviceID, n.Links = 42, 7, 3
		return n
	}
	sym := &tree.Node{Name: "link", Type: tree.TypeSymlink, LinkTarget: "plain.txt", UID: 1000, GID: 1000, ModTime: t1}
	fifo := &tree.Node{Name: "fifo", Type: tree.TypeFifo, Mode: 0o620, ModTime: t0}
	null := &tree.Node{Name: "null", Type: tree.TypeCharDev, Mode: 0o666, Rdev: unix.Mkdev(1, 3), ModTime: t0}
	loop := &tree.Node{Name: "loop", Type: tree.TypeDev, Mode: 0o660, Rdev: unix.Mkdev(7, 200), GID: 6, ModTime: t0}
	sock := &tree.Node{Name: "sock", Type: tree.TypeSocket, Mode: 0o755, ModTime: t0}

	data := f.dir(t, "data", 0o751,
		plain, setuid, sparse, file("empty", 0o600), linked("hl1"), linked("hl3"),
		sym, fifo, null, loop, sock,
		f.textFile(unicodeName, 0o644, "unicode\n"),
		f.dir(t, "sub", 0o700, linked("hl2"), f.textFile("deep.txt", 0o644, "deep\n")),
		f.dir(t, "ro", 0o555, f.textFile("inside", 0o444, "inside\n")),
		f.dir(t, "sticky", 0o1777),
	)
	return f.saveTree(t, data)
}

func TestRestoreEveryNodeType(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	target := t.TempDir()
	var last Progress
	calls := 0
	st := mustRestore(t, f, root, target, Options{Workers: 3, Progress: func(p Progress) { last = p; calls++ }})
	d := filepath.Join(target, "data")

	// 15 non-directory entries (the socket as a socket file); /data, sub, ro, sticky.
	if st.Files != 15 || st.Dirs != 4 || st.Skipped != 0 || len(st.Errors) != 0 {
		t.Errorf("stats = %+v", st)
	}
	if calls == 0 || last.Files != st.Files || last.Dirs != st.Dirs {
		t.Errorf("progress: %d calls, last %+v", calls, last)
	}

	s := lstat(t, filepath.Join(d, "plain.txt"))
	if s.Mode&0o7777 != 0o640 || s.Uid != 1000 || s.Gid != 1001 {
		t.Errorf("plain.txt mode %o uid %d gid %d", s.Mode, s.Uid, s.Gid)
	}
	if a, m := statTimes(s); !a.Equal(t1) || !m.Equal(t0) {
		t.Errorf("plain.txt atime %v mtime %v, want %v %v", a, m, t1, t0)
	}
	// Read only after lstat: reading updates the atime.
	if got := readFile(t, filepath.Join(d, "plain.txt")); string(got) != "hello world\n" {
		t.Errorf("plain.txt = %q", got)
	}
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(filepath.Join(d, "plain.txt"), "user.cairn", buf)
	if err != nil || string(buf[:n]) != "v\x00bin" {
		t.Errorf("xattr = %q, %v", buf[:n], err)
	}

	// chown clears setuid: the mode must have been applied after it.
	s = lstat(t, filepath.Join(d, "setuid"))
	if s.Mode&0o7777 != 0o6755 || s.Uid != 1234 || s.Gid != 5678 {
		t.Errorf("setuid mode %o uid %d gid %d", s.Mode&0o7777, s.Uid, s.Gid)
	}

	s = lstat(t, filepath.Join(d, "sparse.img"))
	wantSize := int64(4096 + holeSize + 1<<20 + 4 + 8192)
	if s.Size != wantSize {
		t.Errorf("sparse size %d, want %d", s.Size, wantSize)
	}
	if s.Blocks*512 > 64<<10 {
		t.Errorf("sparse file occupies %d bytes", s.Blocks*512)
	}
	checkSparseContent(t, filepath.Join(d, "sparse.img"))

	if s := lstat(t, filepath.Join(d, "empty")); s.Size != 0 || s.Mode&0o777 != 0o600 {
		t.Errorf("empty: size %d mode %o", s.Size, s.Mode)
	}

	h1, h2, h3 := lstat(t, filepath.Join(d, "hl1")), lstat(t, filepath.Join(d, "sub", "hl2")), lstat(t, filepath.Join(d, "hl3"))
	if h1.Ino != h2.Ino || h1.Ino != h3.Ino || h1.Nlink != 3 {
		t.Errorf("hardlinks: inodes %d %d %d, nlink %d", h1.Ino, h2.Ino, h3.Ino, h1.Nlink)
	}
	if got := readFile(t, filepath.Join(d, "sub", "hl2")); string(got) != "linked content\n" {
		t.Errorf("hl2 = %q", got)
	}

	if tgt, err := os.Readlink(filepath.Join(d, "link")); err != nil || tgt != "plain.txt" {
		t.Errorf("link -> %q, %v", tgt, err)
	}
	s = lstat(t, filepath.Join(d, "link"))
	if _, m := statTimes(s); s.Uid != 1000 || !m.Equal(t1) {
		t.Errorf("symlink uid %d mtime %v", s.Uid, m)
	}

	if s := lstat(t, filepath.Join(d, "fifo")); s.Mode&unix.S_IFMT != unix.S_IFIFO || s.Mode&0o7777 != 0o620 {
		t.Errorf("fifo mode %o", s.Mode)
	}
	if s := lstat(t, filepath.Join(d, "null")); s.Mode&unix.S_IFMT != unix.S_IFCHR || s.Rdev != unix.Mkdev(1, 3) || s.Mode&0o777 != 0o666 {
		t.Errorf("null mode %o rdev %x", s.Mode, s.Rdev)
	}
	if s := lstat(t, filepath.Join(d, "loop")); s.Mode&unix.S_IFMT != unix.S_IFBLK || s.Rdev != unix.Mkdev(7, 200) || s.Gid != 6 {
		t.Errorf("loop mode %o rdev %x gid %d", s.Mode, s.Rdev, s.Gid)
	}
	if s := lstat(t, filepath.Join(d, "sock")); s.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("socket restored as mode %o", s.Mode)
	}
	if got := readFile(t, filepath.Join(d, unicodeName)); string(got) != "unicode\n" {
		t.Errorf("unicode name = %q", got)
	}
	if got := readFile(t, filepath.Join(d, "ro", "inside")); string(got) != "inside\n" {
		t.Errorf("ro/inside = %q", got)
	}

	// Directory metadata is applied after the contents, deepest first: the
	// mtimes survive the creation of their entries.
	for name, mode := range map[string]uint32{"": 0o751, "sub": 0o700, "ro": 0o555, "sticky": 0o1777} {
		s := lstat(t, filepath.Join(d, name))
		if _, m := statTimes(s); s.Mode&0o7777 != mode || !m.Equal(t0) {
			t.Errorf("dir %q mode %o mtime %v", name, s.Mode&0o7777, m)
		}
	}
}

// checkSparseContent reads back the sparse file and checks every byte.
func checkSparseContent(t *testing.T, path string) {
	t.Helper()
	got := readFile(t, path)
	want := append(pattern4K('h'), make([]byte, holeSize+1<<20)...)
	want = append(want, "tail"...)
	want = append(want, make([]byte, 8192)...)
	if !bytes.Equal(got, want) {
		t.Errorf("sparse content differs")
	}
}

func TestRestoreNoSparse(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, file("dense", 0o644, f.chunk([]byte("x")), hole(1<<20), f.chunk(make([]byte, 1<<20))))
	target := t.TempDir()
	mustRestore(t, f, root, target, Options{NoSparse: true, Verify: true})
	s := lstat(t, filepath.Join(target, "dense"))
	if s.Size != 2<<20+1 || s.Blocks*512 < 2<<20 {
		t.Errorf("dense: size %d, %d bytes allocated", s.Size, s.Blocks*512)
	}
	mustRestore(t, f, root, t.TempDir(), Options{Verify: true}) // and sparse verifies too
}

// TestRestorePreallocates: a file of 1 MiB or more without holes gets its
// blocks reserved before the chunks arrive; blocks of zeros inside its data
// are punched out again, so it allocates no more than without
// preallocation; sizes and content are exact.
func TestRestorePreallocates(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content []tree.Chunk
		want    bool
	}{
		{"2 MiB of data", []tree.Chunk{{ID: crypto.ID{1}, Size: 1 << 20}, {ID: crypto.ID{2}, Size: 1 << 20}}, true},
		{"a hole", []tree.Chunk{{ID: crypto.ID{1}, Size: 1 << 20}, {Size: 1 << 20}}, false},
		{"under 1 MiB", []tree.Chunk{{ID: crypto.ID{1}, Size: 1<<20 - 1}}, false},
	}
	for i, c := range cases {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		got := preallocate(f, c.content)
		var st unix.Stat_t
		unix.Fstat(int(f.Fd()), &st)
		f.Close()
		if got != c.want || (got && (st.Size != 2<<20 || st.Blocks*512 < 2<<20)) || (!got && st.Blocks != 0) {
			t.Errorf("%s: preallocated %v (want %v), size %d, %d bytes allocated", c.name, got, c.want, st.Size, st.Blocks*512)
		}
	}

	f := newFakeRepo()
	data := bytes.Repeat([]byte("not zero "), 200000) // 1.8 MB
	zeros := make([]byte, 512<<10)                    // zeros inside data, not a hole
	root := f.saveTree(t,
		file("dense", 0o644, f.chunk(data[:1<<20]), f.chunk(zeros), f.chunk(data[1<<20:])),
		file("tail-zeros", 0o644, f.chunk(data[:1<<20]), f.chunk(zeros)))
	target := t.TempDir()
	mustRestore(t, f, root, target, Options{Verify: true})
	want := map[string][]byte{
		"dense":      append(append(append([]byte{}, data[:1<<20]...), zeros...), data[1<<20:]...),
		"tail-zeros": append(append([]byte{}, data[:1<<20]...), zeros...),
	}
	for name, content := range want {
		s := lstat(t, filepath.Join(target, name))
		nonZero := int64(len(content) - len(zeros))
		if s.Size != int64(len(content)) || s.Blocks*512 < nonZero || s.Blocks*512 > nonZero+64<<10 {
			t.Errorf("%s: size %d (want %d), %d bytes allocated (want about %d: zeros punched out)", name, s.Size, len(content), s.Blocks*512, nonZero)
		}
		if !bytes.Equal(readFile(t, filepath.Join(target, name)), content) {
			t.Errorf("%s: content differs", name)
		}
	}
}

func TestRestoreVerifyGood(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	st := mustRestore(t, f, root, t.TempDir(), Options{Verify: true})
	if len(st.Errors) != 0 {
		t.Errorf("errors: %v", st.Errors)
	}
}

func TestRestoreManyFilesParallel(t *testing.T) {
	f := newFakeRepo()
	var nodes []*tree.Node
	for i := 0; i < 300; i++ {
		name := strings.Repeat("f", 1+i%7) + string(rune('a'+i%26)) + string(rune('0'+i/26))
		nodes = append(nodes, f.textFile(name, 0o644, strings.Repeat(name, i)))
	}
	root := f.saveTree(t, f.dir(t, "d", 0o755, nodes...))
	target := t.TempDir()
	st := mustRestore(t, f, root, target, Options{Workers: 8, Verify: true})
	if st.Files != 300 {
		t.Fatalf("files = %d", st.Files)
	}
	for _, n := range nodes {
		if got := readFile(t, filepath.Join(target, "d", n.Name)); uint64(len(got)) != n.Size {
			t.Errorf("%s: %d bytes, want %d", n.Name, len(got), n.Size)
		}
	}
}
