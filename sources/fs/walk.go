package fs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// tnode is one component of the backup paths: the root tree mirrors the
// absolute paths, so /home/u/x and /home/v share "home".
type tnode struct {
	children map[string]*tnode
	target   bool // a backup path: walked whole
}

func buildTargetTree(targets []string) *tnode {
	root := &tnode{children: map[string]*tnode{}}
	for _, t := range targets {
		if t == "/" {
			root.target = true
			continue
		}
		n := root
		for _, c := range strings.Split(t[1:], "/") {
			child := n.children[c]
			if child == nil {
				child = &tnode{children: map[string]*tnode{}}
				n.children[c] = child
			}
			n = child
		}
		n.target = true
	}
	return root
}

// walkRoot walks every target and returns the root directory state, whose
// id is valid once the job group has finished.
func (r *run) walkRoot(ctx context.Context, targets []string) (*dirState, error) {
	tt := buildTargetTree(targets)
	r.subtrees = newSubtreeLoader(r.repo)
	defer r.subtrees.wait()
	root := newDirState("/", nil, nil, nil)
	root.pid = r.opts.ParentRoot
	var ptree *tree.Tree
	if r.opts.ParentRoot != nil {
		var err error
		if ptree, err = r.repo.LoadTree(ctx, *r.opts.ParentRoot); err != nil {
			return root, &fatalError{fmt.Errorf("load parent root tree: %w", err)}
		}
	}
	var err error
	if tt.target {
		st, serr := lstat("/")
		if serr != nil {
			return root, serr // cannot happen on a running system
		}
		err = r.listDir(ctx, root, ptree, st.Dev)
	} else {
		err = r.virtualDir(ctx, root, tt, ptree)
	}
	if err != nil {
		return root, err
	}
	return root, r.release(ctx, root)
}

// virtualDir adds the children of a path component that is not itself a
// backup path: only the components leading to backup paths, each with the
// real directory's metadata.
func (r *run) virtualDir(ctx context.Context, d *dirState, tn *tnode, ptree *tree.Tree) error {
	d.ptree = ptree
	names := make([]string, 0, len(tn.children))
	for name := range tn.children {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		child, p, pn := tn.children[name], joinPath(d.path, name), findNode(ptree, name)
		if child.target {
			if err := r.addTarget(ctx, d, p, name, pn); err != nil {
				return err
			}
			continue
		}
		st, err := lstat(p)
		if err == nil && nodeType(st.Mode) != tree.TypeDir {
			// A symlink on the way to a backup path (/var/run -> /run):
			// record the directory it leads to.
			var fst unix.Stat_t
			if err = unix.Stat(p, &fst); err != nil {
				err = &os.PathError{Op: "stat", Path: p, Err: err}
			}
			st = &fst
		}
		if err != nil {
			r.recordErr(err)
			continue
		}
		node := r.dirNode(name, p, st)
		d.add(node) // released when sub is saved
		sub := newDirState(p, node, pn, d)
		if err := r.virtualDir(ctx, sub, child, r.subtrees.load(ctx, pn)); err != nil {
			return err
		}
		if err := r.release(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// addTarget adds a backup path to its parent directory.
func (r *run) addTarget(ctx context.Context, d *dirState, p, name string, pn *tree.Node) error {
	st, err := lstat(p)
	if err != nil {
		r.recordErr(err)
		return nil
	}
	isDir := nodeType(st.Mode) == tree.TypeDir
	if r.match.excludedOrUnder(p, isDir) {
		return nil
	}
	if !isDir {
		return r.dispatch(ctx, d, p, name, st.Mode&unix.S_IFMT == unix.S_IFLNK, pn)
	}
	return r.enterDir(ctx, d, p, name, st, pn, st.Dev, nil)
}

// dirNode returns a directory's node with its xattrs.
func (r *run) dirNode(name, p string, st *unix.Stat_t) *tree.Node {
	node := nodeFromStat(name, st, r.ids)
	node.Type = tree.TypeDir
	xa, err := readXattrs(p)
	node.Xattrs = xa
	if err != nil {
		r.nodeErr(node, err)
	}
	return node
}

// enterDir adds directory p to d and walks it unless it is on another
// file system than devRoot with OneFileSystem set. pf, if set, has the
// parent subtree loading already.
func (r *run) enterDir(ctx context.Context, d *dirState, p, name string, st *unix.Stat_t, pn *tree.Node, devRoot uint64, pf *dirPrefetch) error {
	node := r.dirNode(name, p, st)
	d.add(node) // released when sub is saved
	sub := newDirState(p, node, pn, d)
	var ptree *tree.Tree
	if pf != nil {
		ptree = pf.take(ctx, pn)
	} else {
		ptree = r.subtrees.load(ctx, pn)
	}
	if !r.opts.OneFileSystem || st.Dev == devRoot {
		if err := r.listDir(ctx, sub, ptree, devRoot); err != nil {
			return err
		}
	}
	return r.release(ctx, sub)
}

// listDir adds the entries of directory d in name order: directories are
// walked at once, everything else is handed to a worker.
func (r *run) listDir(ctx context.Context, d *dirState, ptree *tree.Tree, devRoot uint64) error {
	d.ptree = ptree
	ents, err := readDir(d.path)
	if err != nil {
		if d.node != nil {
			r.nodeErr(d.node, err)
		} else {
			r.recordErr(err)
		}
		if len(ents) == 0 {
			return nil
		}
	}
	cacheDir := r.opts.ExcludeCaches && isCacheDir(d.path)
	pf := r.subtrees.prefetch(ctx, ptree)
	var batch []job
	flush := func() {
		if len(batch) > 0 {
			r.runJobs(ctx, d, batch)
			batch = nil
		}
	}
	defer flush() // on every return: entries added must complete
	for _, de := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := de.Name()
		if cacheDir && name != cacheTagName {
			continue
		}
		p, isDir := joinPath(d.path, name), de.IsDir()
		if r.match.excluded(p, isDir) {
			continue
		}
		pn := findNode(ptree, name)
		if !isDir {
			e := d.add(&tree.Node{Name: name})
			batch = append(batch, job{e: e, p: p, symlink: de.Type()&fs.ModeSymlink != 0, pn: pn})
			if len(batch) == jobBatch {
				flush()
			}
			continue
		}
		flush() // before the subtree: its walk can take long
		st, err := lstat(p)
		if err != nil {
			r.recordErr(err) // vanished since the listing
			continue
		}
		if nodeType(st.Mode) != tree.TypeDir {
			err = r.dispatch(ctx, d, p, name, false, pn) // replaced since the listing
		} else {
			err = r.enterDir(ctx, d, p, name, st, pn, devRoot, pf)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// jobBatch is how many of a directory's non-directory entries one file
// job handles in turn: a goroutine and its hand-offs per file cost about
// as much as an unchanged file's lstat and compare.
const jobBatch = 16

// job is one non-directory entry for a file job.
type job struct {
	e       *entry
	p       string
	symlink bool
	pn      *tree.Node
}

// runJobs hands entries of d, already added, to one file job, blocking
// while all jobs are busy.
func (r *run) runJobs(ctx context.Context, d *dirState, jobs []job) {
	r.g.Go(func() error {
		for _, j := range jobs {
			later, err := r.saveEntry(ctx, j.e, j.p, j.symlink, j.pn, d)
			if err == nil && !later {
				err = r.entryDone(ctx, d)
			}
			if err != nil {
				r.fail(err)
				return err
			}
		}
		return nil
	})
}

// dispatch hands a non-directory entry to a worker, blocking while all
// workers are busy: that is what bounds the files in flight.
func (r *run) dispatch(ctx context.Context, d *dirState, p, name string, symlink bool, pn *tree.Node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := d.add(&tree.Node{Name: name})
	r.runJobs(ctx, d, []job{{e: e, p: p, symlink: symlink, pn: pn}})
	return nil
}

// entryDone marks a non-directory entry of d finished.
func (r *run) entryDone(ctx context.Context, d *dirState) error {
	r.c.filesDone.Add(1)
	return r.release(ctx, d)
}

// readDir lists a directory sorted by name, without updating its atime
// where permitted (so that the next backup records the same atime and the
// tree blob deduplicates). On a read error it returns what it got.
func readDir(p string) ([]os.DirEntry, error) {
	fd, err := openNoatime(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	if err != nil {
		return ents, fmt.Errorf("read directory: %w", err)
	}
	return ents, nil
}

// openNoatime opens p with O_NOATIME, which only the owner or a process
// with CAP_FOWNER may use, falling back to a plain open. Callers opening
// something other than a directory add O_NONBLOCK, so that a fifo swapped
// in since lstat cannot block the open.
func openNoatime(p string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC
	for {
		fd, err := unix.Open(p, flags|unix.O_NOATIME, 0)
		if err == unix.EPERM {
			fd, err = unix.Open(p, flags, 0)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// cacheTagName and cacheTagSignature are from the Cache Directory Tagging
// Specification (bford.info/cachedir).
const (
	cacheTagName      = "CACHEDIR.TAG"
	cacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"
)

// isCacheDir reports whether dir holds a CACHEDIR.TAG that starts with the
// signature; a tag without it does not count, as the specification says.
func isCacheDir(dir string) bool {
	fd, err := openNoatime(joinPath(dir, cacheTagName), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), cacheTagName)
	defer f.Close()
	buf := make([]byte, len(cacheTagSignature))
	n, _ := f.ReadAt(buf, 0)
	return n == len(buf) && string(buf) == cacheTagSignature
}

// findNode looks name up in a parent tree that may be nil.
func findNode(t *tree.Tree, name string) *tree.Node {
	if t == nil {
		return nil
	}
	return t.Find(name)
}
