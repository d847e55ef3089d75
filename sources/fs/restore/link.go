package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"cairn/repo/tree"
)

// inodeKey identifies a file on the backed-up system.
type inodeKey struct{ dev, ino uint64 }

// linkGroup is the set of snapshot paths that were hardlinks to one inode.
// The first restored path gets the content; the others are linked to it.
type linkGroup struct {
	first string
	// failed is set when the first path could not be restored; it is
	// written by a worker and read only after all workers have finished.
	failed bool
}

// linkJob is a later path of a linkGroup.
type linkJob struct {
	node  *tree.Node
	dst   string
	group *linkGroup
}

// hardlinkKey returns the inode key of n when n may share its inode with
// other snapshot paths. Directories cannot be hardlinked.
func hardlinkKey(n *tree.Node) (inodeKey, bool) {
	if n.Type == tree.TypeDir || n.Links < 2 || n.Inode == 0 {
		return inodeKey{}, false
	}
	return inodeKey{dev: n.DeviceID, ino: n.Inode}, true
}

// linkAll creates the later paths of every hardlink group once all first
// paths are written. A path that already is a link to the first one is left
// alone; anything else there is subject to the overwrite mode.
func (r *restorer) linkAll(ctx context.Context) {
	for _, lj := range r.links {
		if ctx.Err() != nil {
			return
		}
		if lj.group.failed {
			r.fail(lj.dst, "link", fmt.Errorf("hardlink target %s was not restored", lj.group.first))
			continue
		}
		firstFi, err := os.Lstat(lj.group.first)
		if err != nil {
			r.fail(lj.dst, "link", fmt.Errorf("hardlink target: %w", err))
			continue
		}
		fi, err := os.Lstat(lj.dst)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			r.fail(lj.dst, "lstat", err)
			continue
		case os.SameFile(fi, firstFi):
			r.count(lj.dst, 0, 0, 0, 1) // already linked: left alone
			continue
		default:
			if !r.replace(fi, lj.dst, lj.node) {
				r.count(lj.dst, 0, 0, 0, 1)
				continue
			}
			if err := removeEntry(lj.dst, fi); err != nil {
				r.fail(lj.dst, "remove existing", err)
				continue
			}
		}
		// link(2) does not follow a symlink at the old path: a hardlinked
		// symlink stays a symlink.
		if err := os.Link(lj.group.first, lj.dst); err != nil {
			r.fail(lj.dst, "link", err)
			continue
		}
		r.count(lj.dst, 1, 0, 0, 0)
	}
}
