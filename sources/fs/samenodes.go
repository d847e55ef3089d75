package fs

import (
	"bytes"

	"cairn/repo/tree"
)

// sameNodes reports whether a directory's new nodes describe exactly what
// the parent snapshot's tree does, so its tree id can be reused. Both lists
// are in name order. Any doubt answers false: the tree is then encoded and
// saved, which deduplicates anyway, only slower.
func sameNodes(a, b []*tree.Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameNode(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameNode(a, b *tree.Node) bool {
	if a.Name != b.Name || a.Type != b.Type || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID ||
		a.User != b.User || a.Group != b.Group || a.Size != b.Size || a.Inode != b.Inode ||
		a.DeviceID != b.DeviceID || a.Links != b.Links || a.Rdev != b.Rdev || a.LinkTarget != b.LinkTarget ||
		a.Error != b.Error || !a.ModTime.Equal(b.ModTime) || !a.ChangeTime.Equal(b.ChangeTime) ||
		!a.AccessTime.Equal(b.AccessTime) || len(a.Xattrs) != len(b.Xattrs) || len(a.Content) != len(b.Content) {
		return false
	}
	if (a.Subtree == nil) != (b.Subtree == nil) || (a.Subtree != nil && *a.Subtree != *b.Subtree) {
		return false
	}
	for i := range a.Xattrs {
		if a.Xattrs[i].Name != b.Xattrs[i].Name || !bytes.Equal(a.Xattrs[i].Value, b.Xattrs[i].Value) {
			return false
		}
	}
	for i := range a.Content {
		if a.Content[i] != b.Content[i] {
			return false
		}
	}
	return true
}
