package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Restore recreates the snapshot whose root tree is root below target: the
// root tree's entries are the first components of absolute snapshot paths,
// so /home/u/x is restored to target/home/u/x. Directory creation and the
// walk run in the calling goroutine; regular files are restored in batches,
// each batch's needed blobs read pack range by pack range and written by
// Options.Workers goroutines (see restoreFiles); hardlinks, then
// directory metadata (deepest first), then Verify follow once all contents
// are written.
//
// Problems with single entries do not stop the restore: they are collected
// in Stats.Errors and, unless they are all warnings, Restore returns an error
// wrapping ErrIncomplete after doing the rest. A root tree that cannot be
// loaded, a bad pattern, an unusable target or a cancelled ctx end it early.
// The returned Stats is never nil.
func Restore(ctx context.Context, l Loader, root crypto.ID, target string, opts Options) (*Stats, error) {
	r, err := newRestorer(l, target, opts)
	if err != nil {
		return &Stats{}, fmt.Errorf("restore to %s: %w", target, err)
	}
	rootTree, err := l.LoadTree(ctx, root)
	if err != nil {
		return &Stats{}, fmt.Errorf("restore to %s: load root tree %s: %w", target, root.Short(), err)
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return &Stats{}, fmt.Errorf("restore: create target: %w", err)
	}

	jobs := make(chan fileJob, batchFiles)
	filesDone := make(chan struct{})
	go func() {
		defer close(filesDone)
		r.restoreFiles(ctx, jobs)
	}()
	walkErr := r.walk(ctx, rootTree, nil, &dirState{dst: target, ready: true, usable: true}, jobs)
	close(jobs)
	<-filesDone
	if walkErr == nil {
		walkErr = ctx.Err()
	}
	if walkErr == nil {
		r.linkAll(ctx)
		r.dirMetadata()
		if opts.Verify {
			r.verifyAll(ctx)
		}
		walkErr = ctx.Err()
	}
	stats := r.snapshot()
	if walkErr != nil {
		return stats, fmt.Errorf("restore to %s: %w", target, walkErr)
	}
	if r.failed > 0 {
		return stats, fmt.Errorf("restore to %s: %d entries failed, first: %w: %w",
			target, r.failed, r.firstFail, ErrIncomplete)
	}
	return stats, nil
}

// restorer is the state of one Restore call. Fields below mu are shared with
// the workers; the walk state (dirState, links, inodes) belongs to the
// walking goroutine until the workers have finished.
type restorer struct {
	l       Loader
	opts    Options
	m       *matcher
	workers int
	isRoot  bool   // chown only as root: others cannot give files away
	zero    []byte // zeros for holes and zero-block checks, read-only

	dirs   []*dirState // every directory created or reused, in pre-order
	links  []linkJob
	inodes map[inodeKey]*linkGroup

	mu        sync.Mutex
	stats     Stats
	failed    int
	firstFail error
	written   []fileJob // files to verify
}

func newRestorer(l Loader, target string, opts Options) (*restorer, error) {
	if target == "" {
		return nil, errors.New("empty target")
	}
	m, err := newMatcher(opts.Includes, opts.Excludes)
	if err != nil {
		return nil, err
	}
	if opts.Overwrite < OverwriteAlways || opts.Overwrite > OverwriteNever {
		return nil, fmt.Errorf("invalid overwrite mode %d", int(opts.Overwrite))
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	return &restorer{
		l: l, opts: opts, m: m, workers: workers,
		isRoot: os.Geteuid() == 0,
		zero:   make([]byte, zeroBufSize),
		inodes: make(map[inodeKey]*linkGroup),
	}, nil
}

// dirState is a snapshot directory on its way to the target. Directories
// that are only searched for included entries are created lazily, when the
// first entry below them is restored.
type dirState struct {
	parent  *dirState
	node    *tree.Node // nil for the target itself
	dst     string
	ready   bool // creation was attempted
	usable  bool // entries may be created in it
	existed bool // it was there before the restore
}

// walk restores the entries of t, whose snapshot path is comps, into dir.
// Only a cancelled ctx is returned; everything else is recorded and skipped.
func (r *restorer) walk(ctx context.Context, t *tree.Tree, comps []string, dir *dirState, jobs chan<- fileJob) error {
	for _, n := range t.Nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := append(comps[:len(comps):len(comps)], n.Name)
		sel := r.m.classify(p, n.Type == tree.TypeDir)
		if sel == skip {
			continue
		}
		// A Loader need not decode with tree.Decode; a name with a slash
		// or ".." would let the snapshot write outside the target.
		dst := dir.dst + "/" + n.Name
		if err := tree.ValidName(n.Name); err != nil {
			r.fail(dir.dst, "read tree", err)
			continue
		}
		if n.Type != tree.TypeDir {
			if r.ensureDir(dir) {
				if err := r.restoreEntry(ctx, n, dst, jobs); err != nil {
					return err
				}
			}
			continue
		}
		sub := &dirState{parent: dir, node: n, dst: dst}
		if sel == include && !r.ensureDir(sub) {
			continue
		}
		if n.Subtree == nil {
			r.fail(dst, "read tree", errors.New("directory without subtree"))
			continue
		}
		st, err := r.l.LoadTree(ctx, *n.Subtree)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail(dst, "load tree "+n.Subtree.Short(), err)
			continue
		}
		if err := r.walk(ctx, st, p, sub, jobs); err != nil {
			return err
		}
	}
	return nil
}

// ensureDir creates d and its parents if that has not been tried yet, and
// reports whether entries can be created in d.
func (r *restorer) ensureDir(d *dirState) bool {
	if d.ready {
		return d.usable
	}
	d.ready = true
	if !r.ensureDir(d.parent) {
		return false
	}
	d.usable = r.makeDir(d)
	return d.usable
}

// snapshot returns a copy of the statistics.
func (r *restorer) snapshot() *Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Errors = append([]error(nil), r.stats.Errors...)
	return &s
}

// report records a problem and counts it as a failure unless it is a warning.
func (r *restorer) report(e *Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Errors = append(r.stats.Errors, e)
	if !e.Warning {
		r.failed++
		if r.firstFail == nil {
			r.firstFail = e
		}
	}
	r.progressLocked(e.Path)
}

func (r *restorer) fail(path, op string, err error) {
	r.report(&Error{Path: path, Op: op, Err: err})
}

func (r *restorer) warn(path, op string, err error) {
	r.report(&Error{Path: path, Op: op, Err: err, Warning: true})
}

// count adds to the statistics once an entry is done.
func (r *restorer) count(path string, files, dirs, bytes, skipped int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Files += files
	r.stats.Dirs += dirs
	r.stats.Bytes += bytes
	r.stats.Skipped += skipped
	r.progressLocked(path)
}

func (r *restorer) progressLocked(path string) {
	if r.opts.Progress == nil {
		return
	}
	r.opts.Progress(Progress{
		Files: r.stats.Files, Dirs: r.stats.Dirs, Bytes: r.stats.Bytes,
		Skipped: r.stats.Skipped, Errors: int64(len(r.stats.Errors)), Path: path,
	})
}
