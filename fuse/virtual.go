package fuse

import (
	"context"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"cairn/repo/tree"
)

// latestName is the symlink to the newest snapshot at every level.
const latestName = "latest"

// vkind says which virtual directory a vdir is.
type vkind int

const (
	kindRoot      vkind = iota
	kindSnapshots       // snapshots/
	kindIDs             // ids/
	kindHosts           // hosts/
	kindTags            // tags/
	kindHost            // hosts/<member>/
	kindTag             // tags/<member>/
)

var kindPaths = [...]string{"", "snapshots", "ids", "hosts", "tags", "hosts/", "tags/"}

// vdir is a virtual directory: its entries come from the current
// snapshot set, refreshed on Lookup and Readdir.
type vdir struct {
	gofs.Inode
	fsys   *FS
	kind   vkind
	member string // the host or tag of kindHost and kindTag

	mu    sync.Mutex
	memo  *state // the state byName was built from
	names map[string]ventry
	list  []ventry
}

var (
	_ gofs.NodeLookuper  = (*vdir)(nil)
	_ gofs.NodeReaddirer = (*vdir)(nil)
	_ gofs.NodeGetattrer = (*vdir)(nil)
)

// NewRoot returns the root directory of the file system, for Mount or
// for go-fuse's own mounting functions.
func (f *FS) NewRoot() gofs.InodeEmbedder { return &vdir{fsys: f, kind: kindRoot} }

// ventry is one entry of a virtual directory: a virtual directory, a
// snapshot's root, or a symlink.
type ventry struct {
	name string
	dir  *vdir
	snap *snapEntry
	view string // for snap: which view it is shown in
	link string
	ino  uint64
}

// path is the directory's path in the mount, identifying it.
func (v *vdir) path() string { return kindPaths[v.kind] + v.member }

// entries returns the directory's entries in the current state, by
// name and in order; they are rebuilt only when the state changed.
func (v *vdir) entries() (map[string]ventry, []ventry, syscall.Errno) {
	st, err := v.fsys.state()
	if err != nil {
		v.fsys.logf("%v", err)
		return nil, nil, syscall.EIO
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.memo != st {
		v.list = v.build(st)
		v.names = make(map[string]ventry, len(v.list))
		for _, e := range v.list {
			v.names[e.name] = e
		}
		v.memo = st
	}
	return v.names, v.list, 0
}

func (v *vdir) build(st *state) []ventry {
	sub := func(name string, k vkind, member string) ventry {
		d := &vdir{fsys: v.fsys, kind: k, member: member}
		return ventry{name: name, dir: d, ino: virtualIno(d.path())}
	}
	switch v.kind {
	case kindRoot:
		out := []ventry{sub("snapshots", kindSnapshots, ""), sub("ids", kindIDs, ""),
			sub("hosts", kindHosts, ""), sub("tags", kindTags, "")}
		return appendLatest(out, "", st.all, func(e *snapEntry) string { return "snapshots/" + e.timeName })
	case kindSnapshots, kindIDs:
		return snapList(v.path(), st.all, v.kind == kindIDs)
	case kindHosts, kindTags:
		groups, k := st.hosts, kindHost
		if v.kind == kindTags {
			groups, k = st.tags, kindTag
		}
		var out []ventry
		for _, name := range sortedKeys(groups) {
			out = append(out, sub(name, k, name))
		}
		return out
	case kindHost:
		return snapList(v.path(), st.hosts[v.member], false)
	case kindTag:
		return snapList(v.path(), st.tags[v.member], false)
	}
	return nil
}

// snapList lists snapshots (oldest first) by time or id name, and the
// latest symlink.
func snapList(view string, sns []*snapEntry, byID bool) []ventry {
	name := func(e *snapEntry) string {
		if byID {
			return e.idName
		}
		return e.timeName
	}
	out := make([]ventry, 0, len(sns)+1)
	for _, e := range sns {
		out = append(out, ventry{name: name(e), snap: e, view: view, ino: snapshotIno(view, e.sn.ID)})
	}
	return appendLatest(out, view, sns, name)
}

func appendLatest(out []ventry, view string, sns []*snapEntry, target func(*snapEntry) string) []ventry {
	if len(sns) == 0 {
		return out
	}
	t := target(sns[len(sns)-1])
	return append(out, ventry{name: latestName, link: t, ino: virtualIno(view, latestName, t)})
}

// Lookup finds an entry, listing the snapshots again if that is due.
func (v *vdir) Lookup(ctx context.Context, name string, out *gofuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	names, _, errno := v.entries()
	if errno != 0 {
		return nil, errno
	}
	e, ok := names[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	refresh := v.fsys.opts.RefreshInterval
	out.SetEntryTimeout(refresh)
	out.SetAttrTimeout(refresh)
	switch {
	case e.dir != nil:
		v.fsys.fillVirtual(&out.Attr, syscall.S_IFDIR|0o555)
		return v.NewInode(ctx, e.dir, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: e.ino}), 0
	case e.snap != nil:
		n := snapshotRootNode(e.snap)
		fillAttr(n, &out.Attr)
		d := &dirNode{entry: entry{fsys: v.fsys, node: n, snapRoot: e.ino}}
		return v.NewInode(ctx, d, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: e.ino}), 0
	default:
		n := &tree.Node{Name: name, Type: tree.TypeSymlink, Mode: 0o777, LinkTarget: e.link}
		n.ModTime = v.fsys.mtime()
		fillAttr(n, &out.Attr)
		l := &linkNode{entry: entry{fsys: v.fsys, node: n}}
		return v.NewInode(ctx, l, gofs.StableAttr{Mode: syscall.S_IFLNK, Ino: e.ino}), 0
	}
}

// snapshotRootNode is the directory node shown for a snapshot's root:
// owned by who made the snapshot, dated by its time.
func snapshotRootNode(e *snapEntry) *tree.Node {
	sn := e.sn
	root := sn.Tree
	return &tree.Node{Name: e.timeName, Type: tree.TypeDir, Mode: 0o755, UID: sn.UID, GID: sn.GID,
		ModTime: sn.Time, ChangeTime: sn.Time, AccessTime: sn.Time, Subtree: &root}
}

// Readdir lists the entries, listing the snapshots again if that is due.
func (v *vdir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	_, list, errno := v.entries()
	if errno != 0 {
		return nil, errno
	}
	out := dots(&v.Inode, len(list))
	for _, e := range list {
		mode := uint32(syscall.S_IFDIR)
		if e.link != "" {
			mode = syscall.S_IFLNK
		}
		out = append(out, gofuse.DirEntry{Name: e.name, Mode: mode, Ino: e.ino})
	}
	return gofs.NewListDirStream(out), 0
}

// Getattr reports a read-only directory dated by the newest snapshot.
func (v *vdir) Getattr(ctx context.Context, fh gofs.FileHandle, out *gofuse.AttrOut) syscall.Errno {
	v.fsys.fillVirtual(&out.Attr, syscall.S_IFDIR|0o555)
	out.SetTimeout(v.fsys.opts.RefreshInterval)
	return 0
}

// fillVirtual sets the attributes of a virtual directory.
func (f *FS) fillVirtual(out *gofuse.Attr, mode uint32) {
	out.Mode = mode
	out.Nlink = 2
	out.Blksize = blockSize
	m := f.mtime()
	setTimes(out, m, m, m)
}

// mtime is the virtual entries' time: that of the newest snapshot, so
// that a new backup shows as a change of the directories listing it.
func (f *FS) mtime() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st == nil || f.st.newest.IsZero() {
		return time.Unix(0, 0)
	}
	return f.st.newest
}
