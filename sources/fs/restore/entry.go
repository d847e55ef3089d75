package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// makeDir creates d.dst with mode 0700, so that the restore can fill it
// whatever its final mode, or reuses a directory already there. It never
// follows a symlink: an existing non-directory is replaced or, if the
// overwrite mode keeps it, the whole subtree is skipped.
func (r *restorer) makeDir(d *dirState) bool {
	fi, err := os.Lstat(d.dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.fail(d.dst, "lstat", err)
		return false
	case fi.IsDir():
		d.existed = true
		r.dirs = append(r.dirs, d)
		r.count(d.dst, 0, 1, 0, 0)
		return true
	default:
		if !r.replace(fi, d.dst, d.node) {
			r.count(d.dst, 0, 0, 0, 1)
			return false
		}
		if err := removeEntry(d.dst, fi); err != nil {
			r.fail(d.dst, "remove existing", err)
			return false
		}
	}
	if err := os.Mkdir(d.dst, 0o700); err != nil {
		r.fail(d.dst, "mkdir", err)
		return false
	}
	r.dirs = append(r.dirs, d)
	r.count(d.dst, 0, 1, 0, 0)
	return true
}

// restoreEntry restores one non-directory node at dst, whose parent exists.
// Regular files go to the workers; everything else is made here. Only a
// cancelled ctx is returned.
func (r *restorer) restoreEntry(ctx context.Context, n *tree.Node, dst string, jobs chan<- fileJob) error {
	var group *linkGroup
	if key, ok := hardlinkKey(n); ok {
		if g := r.inodes[key]; g != nil {
			r.links = append(r.links, linkJob{node: n, dst: dst, group: g})
			return nil
		}
		group = &linkGroup{first: dst}
		r.inodes[key] = group
	}
	if !r.prepare(dst, n) {
		return nil
	}
	var err error
	switch n.Type {
	case tree.TypeFile:
		select {
		case jobs <- fileJob{node: n, dst: dst, group: group}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case tree.TypeSymlink:
		err = os.Symlink(n.LinkTarget, dst)
	case tree.TypeFifo:
		err = unix.Mkfifo(dst, 0o600)
	case tree.TypeDev:
		err = unix.Mknod(dst, unix.S_IFBLK|0o600, int(n.Rdev))
	case tree.TypeCharDev:
		err = unix.Mknod(dst, unix.S_IFCHR|0o600, int(n.Rdev))
	case tree.TypeSocket:
		// mknod makes a socket file with nobody listening: what a backup
		// of a socket can give back, with its owner, mode and times.
		err = unix.Mknod(dst, unix.S_IFSOCK|0o600, 0)
	default:
		err = fmt.Errorf("unknown node type %q", n.Type)
	}
	if err != nil {
		if group != nil {
			group.failed = true
		}
		r.fail(dst, "create "+n.Type, err)
		return nil
	}
	if r.applyMetadata(dst, n, -1) {
		r.count(dst, 1, 0, 0, 0)
	}
	return nil
}

// prepare makes room for a new entry at dst: it reports false when dst
// exists and the overwrite mode keeps it (counted as skipped) or when it
// cannot be removed (reported).
func (r *restorer) prepare(dst string, n *tree.Node) bool {
	fi, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		r.fail(dst, "lstat", err)
		return false
	}
	if !r.replace(fi, dst, n) {
		r.count(dst, 0, 0, 0, 1)
		return false
	}
	if err := removeEntry(dst, fi); err != nil {
		r.fail(dst, "remove existing", err)
		return false
	}
	return true
}

// replace applies the overwrite mode to an existing entry fi at dst.
func (r *restorer) replace(fi fs.FileInfo, dst string, n *tree.Node) bool {
	switch r.opts.Overwrite {
	case OverwriteNever:
		return false
	case OverwriteIfNewer:
		return n.ModTime.After(fi.ModTime())
	case OverwriteIfChanged:
		return changed(fi, dst, n)
	}
	return true
}

// changed reports whether the existing entry fi differs from n in the ways
// OverwriteIfChanged looks at: type, and for files size and mtime, for
// symlinks the target, for devices the device number.
func changed(fi fs.FileInfo, dst string, n *tree.Node) bool {
	if nodeType(fi) != n.Type {
		return true
	}
	switch n.Type {
	case tree.TypeFile:
		return uint64(fi.Size()) != n.ContentSize() || !fi.ModTime().Equal(n.ModTime)
	case tree.TypeSymlink:
		target, err := os.Readlink(dst)
		return err != nil || target != n.LinkTarget
	case tree.TypeDev, tree.TypeCharDev:
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return true
		}
		return uint64(st.Rdev) != n.Rdev
	}
	return false
}

// nodeType maps a file mode to a tree node type.
func nodeType(fi fs.FileInfo) string {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return tree.TypeFile
	case m.IsDir():
		return tree.TypeDir
	case m&fs.ModeSymlink != 0:
		return tree.TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return tree.TypeFifo
	case m&fs.ModeSocket != 0:
		return tree.TypeSocket
	case m&fs.ModeCharDevice != 0:
		return tree.TypeCharDev
	case m&fs.ModeDevice != 0:
		return tree.TypeDev
	}
	return "unknown"
}

// removeEntry removes what is at path; os.RemoveAll removes a symlink, not
// what it points to.
func removeEntry(path string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return os.RemoveAll(path)
	}
	return os.Remove(path)
}
