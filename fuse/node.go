package fuse

import (
	"context"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// entry is what every node inside a snapshot carries: the tree node it
// shows (shared with the repository's tree cache: read only) and the
// inode number of its snapshot's root, for hardlink numbering.
type entry struct {
	fsys     *FS
	node     *tree.Node
	snapRoot uint64
}

var (
	_ gofs.NodeGetattrer   = (*entry)(nil)
	_ gofs.NodeGetxattrer  = (*entry)(nil)
	_ gofs.NodeListxattrer = (*entry)(nil)
)

// typeBits returns the S_IFMT bits of a node's type.
func typeBits(n *tree.Node) uint32 {
	switch n.Type {
	case tree.TypeDir:
		return syscall.S_IFDIR
	case tree.TypeSymlink:
		return syscall.S_IFLNK
	case tree.TypeDev:
		return syscall.S_IFBLK
	case tree.TypeCharDev:
		return syscall.S_IFCHR
	case tree.TypeFifo:
		return syscall.S_IFIFO
	case tree.TypeSocket:
		return syscall.S_IFSOCK
	}
	return syscall.S_IFREG
}

// Getattr reports the node's recorded metadata.
func (e *entry) Getattr(ctx context.Context, fh gofs.FileHandle, out *gofuse.AttrOut) syscall.Errno {
	fillAttr(e.node, &out.Attr)
	out.SetTimeout(e.fsys.opts.EntryTimeout)
	return 0
}

// fillAttr sets out from the tree node n. The inode number is set by
// go-fuse from the node's StableAttr.
func fillAttr(n *tree.Node, out *gofuse.Attr) {
	out.Mode = typeBits(n) | n.Mode&0o7777
	out.Owner = gofuse.Owner{Uid: n.UID, Gid: n.GID}
	out.Nlink = uint32(max(n.Links, 1))
	switch n.Type {
	case tree.TypeFile:
		out.Size = n.ContentSize()
		var data uint64
		for _, c := range n.Content {
			if !c.IsHole() {
				data += c.Size
			}
		}
		// Holes take no blocks, so du and sparse-aware copies see the
		// file as the original was.
		out.Blocks = (data + 511) / 512
	case tree.TypeSymlink:
		out.Size = uint64(len(n.LinkTarget))
	case tree.TypeDir:
		out.Size = n.Size
		if n.Links == 0 {
			out.Nlink = 2
		}
	case tree.TypeDev, tree.TypeCharDev:
		out.Rdev = encodeDev(n.Rdev)
	}
	out.Blksize = blockSize
	atime, ctime := n.AccessTime, n.ChangeTime
	if atime.IsZero() {
		atime = n.ModTime
	}
	if ctime.IsZero() {
		ctime = n.ModTime
	}
	setTimes(out, atime, n.ModTime, ctime)
}

// blockSize is the st_blksize reported for every node: cp and cat size
// their buffers by it, and a FUSE round trip per 4 KiB would be slow.
const blockSize = 1 << 20

func setTimes(out *gofuse.Attr, a, m, c time.Time) {
	out.SetTimes(&a, &m, &c)
}

// encodeDev converts a device number as stat(2) reports it (glibc
// encoding) into the kernel's 32-bit new_encode_dev form FUSE carries.
func encodeDev(rdev uint64) uint32 {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	return (minor & 0xff) | (major&0xfff)<<8 | (minor&^0xff)<<12
}

// Getxattr returns a recorded extended attribute.
func (e *entry) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	for _, x := range e.node.Xattrs {
		if x.Name == attr {
			if len(dest) < len(x.Value) {
				return uint32(len(x.Value)), syscall.ERANGE
			}
			return uint32(copy(dest, x.Value)), 0
		}
	}
	return 0, syscall.ENODATA
}

// Listxattr lists the recorded extended attributes' names.
func (e *entry) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var size int
	for _, x := range e.node.Xattrs {
		size += len(x.Name) + 1
	}
	if len(dest) < size {
		return uint32(size), syscall.ERANGE
	}
	var n int
	for _, x := range e.node.Xattrs {
		n += copy(dest[n:], x.Name)
		dest[n] = 0
		n++
	}
	return uint32(n), 0
}

// childStable returns the identity of a child node of a directory whose
// inode number is parent.
func (e *entry) childStable(parent uint64, n *tree.Node) gofs.StableAttr {
	ino := childIno(parent, n.Name)
	if n.Type != tree.TypeDir && n.Links > 1 && n.Inode != 0 {
		ino = hardlinkIno(e.snapRoot, n.DeviceID, n.Inode)
	}
	return gofs.StableAttr{Mode: typeBits(n), Ino: ino}
}

// newChild makes the operations object for node n, a child of e.
func (e *entry) newChild(n *tree.Node) gofs.InodeEmbedder {
	ce := entry{fsys: e.fsys, node: n, snapRoot: e.snapRoot}
	switch n.Type {
	case tree.TypeDir:
		return &dirNode{entry: ce}
	case tree.TypeFile:
		return &fileNode{entry: ce}
	case tree.TypeSymlink:
		return &linkNode{entry: ce}
	}
	return &specialNode{entry: ce}
}

// linkNode is a symlink.
type linkNode struct {
	gofs.Inode
	entry
}

var _ gofs.NodeReadlinker = (*linkNode)(nil)

// Readlink returns the recorded target.
func (l *linkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	return []byte(l.node.LinkTarget), 0
}

// specialNode is a device, fifo or socket: only its metadata is shown.
// The mount is nodev, so a device node cannot be used to reach a device.
type specialNode struct {
	gofs.Inode
	entry
}
