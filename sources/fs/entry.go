package fs

import (
	"context"
	"errors"
	"os"

	"cairn/repo/tree"
)

// saveEntry fills in a non-directory entry: metadata, xattrs, link target
// and, for a regular file, its content. Only fatal errors are returned;
// anything else is recorded and leaves the node with Error set (or skipped
// when it vanished before it could be stat'ed). later reports that the
// file's content is still being saved and its completion will mark the
// entry done in d.
func (r *run) saveEntry(ctx context.Context, e *entry, p string, symlink bool, pn *tree.Node, d *dirState) (later bool, err error) {
	// A symlink's target is read before lstat: readlink updates the link's
	// atime (once, under relatime), and recording the atime after that
	// keeps the next backup's tree blob identical.
	var target string
	var terr error
	if symlink {
		target, terr = os.Readlink(p)
	}
	st, err := lstat(p)
	if err != nil {
		r.recordErr(err)
		e.skip = true
		return false, nil
	}
	n := nodeFromStat(e.node.Name, st, r.ids)
	if n.Type == tree.TypeDir {
		// Replaced by a directory since the listing: walking it here would
		// race the walker, and a directory node needs a subtree.
		r.recordErr(&os.PathError{Op: "lstat", Path: p, Err: errors.New("became a directory during backup, skipped")})
		e.skip = true
		return false, nil
	}
	e.node = n
	if pn != nil && pn.Error == "" && unchanged(pn, n) {
		// Setting or removing an xattr (ACLs included) updates the ctime,
		// so an entry whose ctime, inode and times match the parent's has
		// the parent's xattrs: one llistxattr per file less on re-backups.
		n.Xattrs = pn.Xattrs
	} else if xa, err := readXattrs(p); err != nil {
		r.nodeErr(n, err)
	} else {
		n.Xattrs = xa
	}
	r.c.totalFiles.Add(1)
	switch n.Type {
	case tree.TypeFile:
		return r.fileContent(ctx, n, p, pn, d)
	case tree.TypeSymlink:
		if !symlink {
			target, terr = os.Readlink(p)
		}
		if terr != nil {
			r.nodeErr(n, terr)
		}
		n.LinkTarget = target
	}
	r.countFile(pn, unchanged(pn, n))
	return false, nil
}

// unchanged is the parent detection rule: same type, size, mtime, ctime
// and inode, and for a file a complete content list. ctime catches changes
// that restore an old mtime (touch -d, tar); the inode catches a file
// replaced by another of the same size and times (rename over it). A file
// that could not be read is stored without content, so it is read again;
// other node errors (an unstorable name, an unreadable xattr) do not
// concern the content.
func unchanged(pn, n *tree.Node) bool {
	return pn != nil && pn.Type == n.Type &&
		pn.Size == n.Size && pn.Inode == n.Inode &&
		pn.ModTime.Equal(n.ModTime) && pn.ChangeTime.Equal(n.ChangeTime) &&
		(n.Type != tree.TypeFile || pn.ContentSize() == pn.Size)
}

func (r *run) countFile(pn *tree.Node, same bool) {
	switch {
	case pn == nil:
		r.c.filesNew.Add(1)
	case same:
		r.c.filesUnmodified.Add(1)
	default:
		r.c.filesChanged.Add(1)
	}
}
