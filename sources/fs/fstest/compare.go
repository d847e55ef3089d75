package fstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// SparseSlack is how many bytes more a restored file may allocate than its
// original: file systems round allocations differently.
const SparseSlack = 64 << 10

// maxDiffs stops a comparison that has clearly failed from flooding the
// log (a broken restore of a source tree differs everywhere).
const maxDiffs = 25

// CompareTrees asserts that the tree under b reproduces the tree under a:
// the same entries (the roots themselves are not compared), and for each
// the type, permission and special bits, owner, modification time to the
// nanosecond (directories and symlinks included), symlink target, xattrs,
// device numbers, content of regular files, hardlink structure (entries
// linked in a are linked in b, and no others), and sparseness: a regular
// file in b allocates at most SparseSlack bytes more than in a. Access and
// change times are not compared: a restore cannot set ctime, and reading a
// tree may update atime.
func CompareTrees(t testing.TB, a, b string) {
	t.Helper()
	c := &comparer{a: a, b: b, linksA: map[[2]uint64]string{}, linksB: map[[2]uint64][2]uint64{}}
	c.errorf = func(format string, args ...any) {
		t.Helper()
		c.diffs++
		if c.diffs > maxDiffs {
			t.Fatalf("CompareTrees(%s, %s): more than %d differences, giving up", a, b, maxDiffs)
		}
		t.Errorf(format, args...)
	}
	relsA, err := list(a)
	if err != nil {
		t.Fatalf("CompareTrees: %v", err)
	}
	relsB, err := list(b)
	if err != nil {
		t.Fatalf("CompareTrees: %v", err)
	}
	inB := map[string]bool{}
	for _, r := range relsB {
		inB[r] = true
	}
	for _, r := range relsA {
		if !inB[r] {
			c.errorf("%q: missing in %s", r, b)
			continue
		}
		delete(inB, r)
		c.entry(r)
	}
	extra := make([]string, 0, len(inB))
	for r := range inB {
		extra = append(extra, r)
	}
	sort.Strings(extra)
	for _, r := range extra {
		c.errorf("%q: in %s but not in %s", r, b, a)
	}
}

// list returns the slash-separated paths below root, without following
// symlinks.
func list(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return out, nil
}

type comparer struct {
	a, b   string
	errorf func(format string, args ...any)
	diffs  int
	// linksA maps an inode of a (dev, ino) to the first entry seen with
	// it; linksB maps an inode of b to the inode of a it reproduces.
	linksA map[[2]uint64]string
	linksB map[[2]uint64][2]uint64
}

func (c *comparer) entry(rel string) {
	pa, pb := filepath.Join(c.a, rel), filepath.Join(c.b, rel)
	var sa, sb unix.Stat_t
	if err := unix.Lstat(pa, &sa); err != nil {
		c.errorf("lstat %q: %v", pa, err)
		return
	}
	if err := unix.Lstat(pb, &sb); err != nil {
		c.errorf("lstat %q: %v", pb, err)
		return
	}
	if ta, tb := sa.Mode&unix.S_IFMT, sb.Mode&unix.S_IFMT; ta != tb {
		c.errorf("%q: type %o, want %o", rel, tb, ta)
		return
	}
	typ := sa.Mode & unix.S_IFMT
	if typ != unix.S_IFLNK && sa.Mode&0o7777 != sb.Mode&0o7777 {
		c.errorf("%q: mode %04o, want %04o", rel, sb.Mode&0o7777, sa.Mode&0o7777)
	}
	if sa.Uid != sb.Uid || sa.Gid != sb.Gid {
		c.errorf("%q: owner %d:%d, want %d:%d", rel, sb.Uid, sb.Gid, sa.Uid, sa.Gid)
	}
	if sa.Mtim != sb.Mtim {
		c.errorf("%q: mtime %d.%09d, want %d.%09d", rel, sb.Mtim.Sec, sb.Mtim.Nsec, sa.Mtim.Sec, sa.Mtim.Nsec)
	}
	c.xattrs(rel, pa, pb)
	switch typ {
	case unix.S_IFLNK:
		ta, erra := os.Readlink(pa)
		tb, errb := os.Readlink(pb)
		if erra != nil || errb != nil || ta != tb {
			c.errorf("%q: symlink target %q (%v), want %q (%v)", rel, tb, errb, ta, erra)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if sa.Rdev != sb.Rdev {
			c.errorf("%q: device %d:%d, want %d:%d", rel,
				unix.Major(sb.Rdev), unix.Minor(sb.Rdev), unix.Major(sa.Rdev), unix.Minor(sa.Rdev))
		}
	case unix.S_IFREG:
		if sa.Size != sb.Size {
			c.errorf("%q: size %d, want %d", rel, sb.Size, sa.Size)
		} else if err := sameContent(pa, pb); err != nil {
			c.errorf("%q: %v", rel, err)
		}
		if sb.Blocks*512 > sa.Blocks*512+SparseSlack {
			c.errorf("%q: allocates %d bytes, original %d: holes not restored", rel, sb.Blocks*512, sa.Blocks*512)
		}
	}
	if typ != unix.S_IFDIR {
		c.links(rel, &sa, &sb)
	}
}

// links checks that entries sharing an inode in a share one in b, and that
// b links nothing that a did not.
func (c *comparer) links(rel string, sa, sb *unix.Stat_t) {
	ia, ib := [2]uint64{sa.Dev, sa.Ino}, [2]uint64{sb.Dev, sb.Ino}
	if first, ok := c.linksA[ia]; ok {
		var sf unix.Stat_t
		if err := unix.Lstat(filepath.Join(c.b, first), &sf); err == nil && (sf.Dev != sb.Dev || sf.Ino != sb.Ino) {
			c.errorf("%q: not hardlinked to %q as in the original", rel, first)
		}
	} else {
		c.linksA[ia] = rel
	}
	if prev, ok := c.linksB[ib]; ok && prev != ia {
		c.errorf("%q: hardlinked to %q, which it is not in the original", rel, c.linksA[prev])
	}
	c.linksB[ib] = ia
}

func (c *comparer) xattrs(rel, pa, pb string) {
	xa, erra := xattrs(pa)
	xb, errb := xattrs(pb)
	if erra != nil || errb != nil {
		c.errorf("%q: xattrs: %v / %v", rel, erra, errb)
		return
	}
	for name, va := range xa {
		vb, ok := xb[name]
		switch {
		case !ok:
			c.errorf("%q: xattr %s missing", rel, name)
		case !bytes.Equal(va, vb):
			c.errorf("%q: xattr %s is %q, want %q", rel, name, vb, va)
		}
	}
	for name := range xb {
		if _, ok := xa[name]; !ok {
			c.errorf("%q: extra xattr %s", rel, name)
		}
	}
}

// xattrs returns the extended attributes of p itself.
func xattrs(p string) (map[string][]byte, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("llistxattr %s: %w", p, err)
	}
	out := map[string][]byte{}
	for _, name := range bytes.Split(buf[:n], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, string(name), val)
		if err != nil {
			return nil, fmt.Errorf("lgetxattr %s %s: %w", p, name, err)
		}
		out[string(name)] = val[:m]
	}
	return out, nil
}

// sameContent compares two files block by block.
func sameContent(pa, pb string) error {
	fa, err := os.Open(pa)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(pb)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); ; {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("content differs in the MiB at offset %d", off)
		}
		off += int64(na)
		if errors.Is(erra, io.EOF) || errors.Is(erra, io.ErrUnexpectedEOF) {
			return nil
		}
		if erra != nil {
			return erra
		}
		if errb != nil {
			return errb
		}
	}
}
