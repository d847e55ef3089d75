package fuse

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"cairn/repo/tree"
)

// dirNode is a directory inside a snapshot, or a snapshot's root.
type dirNode struct {
	gofs.Inode
	entry
}

var (
	_ gofs.NodeLookuper  = (*dirNode)(nil)
	_ gofs.NodeReaddirer = (*dirNode)(nil)
)

// tree loads the directory's entries. Decode rejected directory nodes
// without a subtree, but a synthetic node is checked all the same.
func (d *dirNode) tree() (*tree.Tree, syscall.Errno) {
	if d.node.Subtree == nil {
		return &tree.Tree{}, 0
	}
	t, err := d.fsys.loadTree(*d.node.Subtree)
	if err != nil {
		d.fsys.logf("%v", err)
		return nil, syscall.EIO
	}
	return t, 0
}

// Lookup finds a child by name.
func (d *dirNode) Lookup(ctx context.Context, name string, out *gofuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	t, errno := d.tree()
	if errno != 0 {
		return nil, errno
	}
	n := t.Find(name)
	if n == nil {
		return nil, syscall.ENOENT
	}
	fillAttr(n, &out.Attr)
	out.SetEntryTimeout(d.fsys.opts.EntryTimeout)
	out.SetAttrTimeout(d.fsys.opts.EntryTimeout)
	return d.NewInode(ctx, d.newChild(n), d.childStable(d.StableAttr().Ino, n)), 0
}

// Readdir lists the children with their types and inode numbers.
func (d *dirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	t, errno := d.tree()
	if errno != 0 {
		return nil, errno
	}
	ino := d.StableAttr().Ino
	list := dots(&d.Inode, len(t.Nodes))
	for _, n := range t.Nodes {
		s := d.childStable(ino, n)
		list = append(list, gofuse.DirEntry{Name: n.Name, Mode: s.Mode, Ino: s.Ino})
	}
	return gofs.NewListDirStream(list), 0
}

// dots starts a directory listing with "." and "..", which FUSE leaves
// to the file system (ls -a, and tools that count entries, expect them).
func dots(n *gofs.Inode, capacity int) []gofuse.DirEntry {
	parent := n.StableAttr().Ino
	if _, p := n.Parent(); p != nil {
		parent = p.StableAttr().Ino
	}
	list := make([]gofuse.DirEntry, 0, capacity+2)
	return append(list,
		gofuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: n.StableAttr().Ino},
		gofuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: parent})
}
