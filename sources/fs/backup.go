package fs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"cairn/repo/tree"
)

// defaultLargeFile is the data-region size from which chunker.Split chunks
// a region with several goroutines: below it, the files in flight already
// keep the workers busy and Split's segment bookkeeping does not pay.
const defaultLargeFile = 64 << 20

// maxSplitWorkers caps the goroutines chunking one large file: Split holds
// up to workers+1 segments of 64 MiB in memory, and hashing, compressing
// and sealing the chunks (in SaveBlob) needs the other cores anyway.
const maxSplitWorkers = 4

// run is the state of one Backup call. Everything a run mutates lives here,
// so concurrent Backups share nothing.
type run struct {
	repo    Repo
	opts    Options
	match   *matcher
	ids     *idNames
	workers int
	large   int64
	g       *errgroup.Group // file jobs, at most workers at a time
	// saveSem bounds the chunks being saved across all files, so that
	// memory stays near workers*MaxSize whatever the files.
	saveSem chan struct{}
	// largeSem lets one file at a time use chunker.Split, whose segments
	// take workers+1 times 64 MiB.
	largeSem chan struct{}
	inodes   inodeCache
	chunkers sync.Pool
	c        counters
	start    time.Time

	errMu sync.Mutex
	errs  []error
}

// counters are updated by the walker and the workers, read by the
// progress reporter.
type counters struct {
	filesNew, filesChanged, filesUnmodified atomic.Int64
	dirsNew, dirsChanged, dirsUnmodified    atomic.Int64
	bytesRead, bytesDone                    atomic.Int64
	totalFiles, totalBytes                  atomic.Int64
	filesDone, dirsDone                     atomic.Int64
	errors                                  atomic.Int64
	scanFiles, scanBytes                    atomic.Int64
	scanDone                                atomic.Bool
}

// fatalError marks an error that must abort the backup (a repository
// failure), as opposed to a per-file problem that makes it partial.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Backup archives paths into r and returns the root tree of the snapshot.
// Unreadable entries are recorded in Result.Stats.Errors and make the
// result Partial; only repository failures, invalid options and ctx
// cancellation return an error.
func Backup(ctx context.Context, r Repo, paths []string, opts Options) (*Result, error) {
	if len(paths) == 0 {
		return nil, errors.New("backup: no paths given")
	}
	if err := opts.Chunker.Validate(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m, err := newMatcher(opts.Excludes, opts.ExcludeFiles)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	targets, err := cleanTargets(paths)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ru := newRun(r, opts, m)

	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(gctx)
	g.SetLimit(ru.workers)
	ru.g = g

	stopProgress := ru.startProgress(gctx, targets)
	root, werr := ru.walkRoot(gctx, targets)
	if werr != nil {
		cancel() // stop the jobs already queued
	}
	gerr := g.Wait()
	stopProgress()
	if err := firstFatal(ctx, werr, gerr); err != nil {
		return nil, err
	}
	res := &Result{Root: root.id, Stats: ru.stats()}
	res.Partial = len(res.Stats.Errors) > 0
	return res, nil
}

// firstFatal picks the error to return: the caller's cancellation if that
// is what stopped the run, else the first real failure rather than the
// context.Canceled it caused in other goroutines.
func firstFatal(ctx context.Context, errs ...error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	return nil
}

func newRun(r Repo, opts Options, m *matcher) *run {
	workers := opts.Workers
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	large := opts.largeFile
	if large <= 0 {
		large = defaultLargeFile
	}
	ru := &run{
		repo: r, opts: opts, match: m, ids: newIDNames(),
		workers: workers, large: large,
		saveSem:  make(chan struct{}, workers+1),
		largeSem: make(chan struct{}, 1),
		inodes:   inodeCache{m: map[inodeKey]*inodeResult{}},
		start:    time.Now(),
	}
	return ru
}

// recordErr notes a per-entry problem: the snapshot becomes partial.
func (r *run) recordErr(err error) {
	r.errMu.Lock()
	r.errs = append(r.errs, err)
	r.errMu.Unlock()
	r.c.errors.Add(1)
}

// nodeErr records err and notes it on the node it concerns; a node can
// collect several (an unreadable xattr and an unreadable content).
func (r *run) nodeErr(n *tree.Node, err error) {
	r.recordErr(err)
	if n.Error != "" {
		n.Error += "; "
	}
	n.Error += err.Error()
}

func (r *run) stats() Stats {
	r.errMu.Lock()
	errs := append([]error(nil), r.errs...)
	r.errMu.Unlock()
	// Workers finish in any order; sorted errors read (and diff) better.
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	c := &r.c
	return Stats{
		FilesNew: c.filesNew.Load(), FilesChanged: c.filesChanged.Load(),
		FilesUnmodified: c.filesUnmodified.Load(),
		DirsNew:         c.dirsNew.Load(), DirsChanged: c.dirsChanged.Load(),
		DirsUnmodified: c.dirsUnmodified.Load(),
		BytesRead:      c.bytesRead.Load(),
		TotalFiles:     c.totalFiles.Load(), TotalBytes: c.totalBytes.Load(),
		Errors: errs,
	}
}

// cleanTargets makes paths absolute and clean, sorts them, and drops
// duplicates and paths inside another path (which the outer walk covers).
func cleanTargets(paths []string) ([]string, error) {
	abs := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "" {
			return nil, errors.New("empty path")
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", p, err)
		}
		abs = append(abs, filepath.Clean(a))
	}
	sort.Strings(abs)
	var out []string
next:
	for _, a := range abs {
		// Not only the previous one: "/a b" sorts between "/a" and "/a/x".
		for _, o := range out {
			if within(a, o) {
				continue next
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	if dir == "/" || p == dir {
		return true
	}
	return strings.HasPrefix(p, dir+"/")
}

// joinPath appends a directory entry's name to its absolute parent path.
func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
