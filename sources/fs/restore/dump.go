package restore

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo/tree"
)

// Dump writes what is at snapPath in the snapshot to w: a regular file's
// content (holes as zeros), anything else as a PAX tar stream, a directory
// with everything below it. Tar entries are named by their snapshot path
// without the leading "/" (as restic's dump does) and carry mode with the
// setuid/setgid/sticky bits, numeric and named owner, mtime/atime/ctime with
// nanoseconds, symlink targets, devices, fifos, hardlinks (as tar hardlinks
// to the first path of the inode in the stream) and xattrs (as PAX
// SCHILY.xattr records); sockets are left out (tar has no socket type). Memory stays at one chunk
// whatever the size of a file. A blob that cannot be loaded ends the stream
// with an error naming the path; what was written before stays written.
func Dump(ctx context.Context, l Loader, root crypto.ID, snapPath string, w io.Writer) error {
	n, err := Lookup(ctx, l, root, snapPath)
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	comps := splitPath(snapPath)
	d := &dumper{l: l, zero: make([]byte, zeroBufSize), links: make(map[inodeKey]string)}
	if n.Type == tree.TypeFile {
		if err := d.content(ctx, w, n); err != nil {
			return fmt.Errorf("dump %s: %w", joinPath(comps), err)
		}
		return nil
	}
	tw := tar.NewWriter(w)
	if len(comps) == 0 {
		err = d.dir(ctx, tw, *n.Subtree, "")
	} else {
		err = d.entry(ctx, tw, n, joinPath(comps)[1:])
	}
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("dump: finish tar: %w", err)
	}
	return nil
}

// dumper is the state of one Dump call.
type dumper struct {
	l     Loader
	buf   []byte
	zero  []byte
	links map[inodeKey]string // inode → first tar name, for hardlinks
}

// dir writes the entries of tree id, prefixing their names with prefix.
func (d *dumper) dir(ctx context.Context, tw *tar.Writer, id crypto.ID, prefix string) error {
	t, err := d.l.LoadTree(ctx, id)
	if err != nil {
		return fmt.Errorf("load tree of /%s: %w", prefix, err)
	}
	for _, n := range t.Nodes {
		if err := tree.ValidName(n.Name); err != nil {
			return fmt.Errorf("tree of /%s: %w", prefix, err)
		}
		if err := d.entry(ctx, tw, n, prefix+n.Name); err != nil {
			return err
		}
	}
	return nil
}

// entry writes one node named name (and, for a directory, what it holds).
func (d *dumper) entry(ctx context.Context, tw *tar.Writer, n *tree.Node, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(n.Mode & 0o7777),
		Uid:     int(n.UID),
		Gid:     int(n.GID),
		Uname:   n.User,
		Gname:   n.Group,
		ModTime: n.ModTime,
		Format:  tar.FormatPAX,
	}
	if !n.AccessTime.IsZero() {
		hdr.AccessTime = n.AccessTime
	}
	if !n.ChangeTime.IsZero() {
		hdr.ChangeTime = n.ChangeTime
	}
	for _, x := range n.Xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = make(map[string]string)
		}
		hdr.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
	}
	key, linked := hardlinkKey(n)
	if first, ok := d.links[key]; linked && ok {
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
		return d.header(tw, hdr)
	}
	if linked {
		d.links[key] = name
	}
	switch n.Type {
	case tree.TypeFile:
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(n.ContentSize())
		if err := d.header(tw, hdr); err != nil {
			return err
		}
		if err := d.content(ctx, tw, n); err != nil {
			return fmt.Errorf("/%s: %w", name, err)
		}
		return nil
	case tree.TypeDir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		if err := d.header(tw, hdr); err != nil {
			return err
		}
		if n.Subtree == nil {
			return fmt.Errorf("/%s: directory without subtree", name)
		}
		return d.dir(ctx, tw, *n.Subtree, name+"/")
	case tree.TypeSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, n.LinkTarget
	case tree.TypeFifo:
		hdr.Typeflag = tar.TypeFifo
	case tree.TypeDev, tree.TypeCharDev:
		hdr.Typeflag = tar.TypeBlock
		if n.Type == tree.TypeCharDev {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(n.Rdev)), int64(unix.Minor(n.Rdev))
	case tree.TypeSocket:
		return nil // tar has no sockets
	default:
		return fmt.Errorf("/%s: unknown node type %q", name, n.Type)
	}
	return d.header(tw, hdr)
}

func (d *dumper) header(tw *tar.Writer, hdr *tar.Header) error {
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar header for /%s: %w", hdr.Name, err)
	}
	return nil
}

// content writes n's content to w, holes as zeros, one chunk at a time.
func (d *dumper) content(ctx context.Context, w io.Writer, n *tree.Node) error {
	var off uint64
	for i, c := range n.Content {
		if c.IsHole() {
			for left := c.Size; left > 0; {
				k := min(left, uint64(len(d.zero)))
				if _, err := w.Write(d.zero[:k]); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				left -= k
			}
			off += c.Size
			continue
		}
		data, err := d.l.LoadBlob(ctx, pack.DataBlob, c.ID, d.buf)
		if err != nil {
			return fmt.Errorf("chunk %d at offset %d: %w", i, off, err)
		}
		d.buf = data[:0]
		if uint64(len(data)) != c.Size {
			return fmt.Errorf("chunk %d at offset %d: blob %s has %d bytes, tree says %d", i, off, c.ID.Short(), len(data), c.Size)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		off += c.Size
	}
	return nil
}
