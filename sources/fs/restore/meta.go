package restore

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// applyMetadata sets ownership, mode, xattrs and times of the entry at dst,
// in that order: chown clears setuid/setgid, so the mode comes after it, and
// chown (like writing) clears security.capability, so xattrs come after
// both; times come last. When fd is not -1 it is an open descriptor of dst
// and is used instead of the path. Ownership and xattrs that cannot be set
// are warnings; a mode or times that cannot be set fail the entry, and
// applyMetadata then returns false.
func (r *restorer) applyMetadata(dst string, n *tree.Node, fd int) bool {
	return r.applyOwnerModeXattrs(dst, n, fd) && r.applyTimes(dst, n)
}

// applyOwnerModeXattrs is applyMetadata without the times.
func (r *restorer) applyOwnerModeXattrs(dst string, n *tree.Node, fd int) bool {
	if n.Error != "" {
		r.warn(dst, "snapshot", fmt.Errorf("entry was backed up incompletely: %s", n.Error))
	}
	if r.isRoot {
		var err error
		if fd >= 0 {
			err = unix.Fchown(fd, int(n.UID), int(n.GID))
		} else {
			err = unix.Lchown(dst, int(n.UID), int(n.GID))
		}
		if err != nil {
			r.warn(dst, fmt.Sprintf("lchown %d:%d", n.UID, n.GID), err)
		}
	}
	if n.Type != tree.TypeSymlink {
		if err := chmod(dst, fd, n.Mode&0o7777); err != nil {
			r.fail(dst, fmt.Sprintf("chmod %04o", n.Mode&0o7777), err)
			return false
		}
	}
	for _, x := range n.Xattrs {
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, x.Name, x.Value, 0)
		} else {
			err = unix.Lsetxattr(dst, x.Name, x.Value, 0)
		}
		if err != nil {
			r.warn(dst, "setxattr "+x.Name, err)
		}
	}
	return true
}

// applyTimes sets atime and mtime with nanoseconds, never following a
// symlink. A node without atime gets its mtime as atime.
func (r *restorer) applyTimes(dst string, n *tree.Node) bool {
	atime := n.AccessTime
	if atime.IsZero() {
		atime = n.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(n.ModTime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		r.fail(dst, "set times", err)
		return false
	}
	return true
}

// chmod sets the permission and special bits without following a symlink.
func chmod(path string, fd int, mode uint32) error {
	if fd >= 0 {
		return unix.Fchmod(fd, mode)
	}
	err := unix.Fchmodat(unix.AT_FDCWD, path, mode, unix.AT_SYMLINK_NOFOLLOW)
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	// Kernels before 6.6 lack fchmodat2; the entry was just created by us
	// and is not a symlink (those never get here), so a plain chmod is safe
	// unless someone swaps it in between — check right before.
	fi, lerr := os.Lstat(path)
	if lerr != nil {
		return lerr
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s became a symlink", path)
	}
	return unix.Chmod(path, mode)
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		// The zero time.Time is year 1; the epoch is what a missing time
		// means on disk.
		return unix.Timespec{}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// dirMetadata applies the metadata of every created or reused directory,
// deepest first so that setting a child's times does not disturb its
// parent's mtime and a read-only directory is filled before it becomes
// read-only. Existing directories keep theirs under OverwriteNever.
func (r *restorer) dirMetadata() {
	for i := len(r.dirs) - 1; i >= 0; i-- {
		d := r.dirs[i]
		if d.node == nil || (d.existed && r.opts.Overwrite == OverwriteNever) {
			continue
		}
		fd, err := unix.Open(d.dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			r.fail(d.dst, "open directory", err)
			continue
		}
		r.applyMetadata(d.dst, d.node, fd)
		unix.Close(fd)
	}
}
