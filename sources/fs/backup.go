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
	"golang.org/x/sync/semaphore"

	"cairn/repo/tree"
)

// defaultLargeFile is the data-region size from which chunker.Split chunks
// a region with several goroutines: below it, the files in flight already
// keep the workers busy and Split's segment bookkeeping does not pay.
const defaultLargeFile = 64 << 20

// maxSplitWorkers caps the goroutines chunking one large file: hashing,
// compressing and sealing the chunks (the savers) needs the other cores
// anyway.
const maxSplitWorkers = 4

// maxFilesInFlight bounds the files read whose saves are still running:
// enough that a tree of small files keeps every saver busy; their memory
// is bounded by the byte budget, not by this.
const maxFilesInFlight = 256

// saveBudgetChunks is the byte budget for chunks queued or being saved, in
// maximum chunk sizes (8 MiB by default: eight average chunks, enough to
// keep the savers busy), and minSaveBudget its floor for small test
// parameters.
const (
	saveBudgetChunks = 1
	minSaveBudget    = 4 << 20
)

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
	// saveq feeds chunks to the savers; inflight bounds the bytes queued
	// or being saved over all files to budget, so that memory stays
	// bounded whatever the files.
	saveq    chan saveJob
	inflight *semaphore.Weighted
	budget   int64
	// files bounds the files read but not yet completed (their saves
	// still running); async counts them.
	files chan struct{}
	async sync.WaitGroup
	// cancel stops the run after a fatal error, which fail records.
	cancel  context.CancelFunc
	fatalMu sync.Mutex
	fatal   error
	// largeSem lets one file at a time use chunker.Split: two would only
	// compete for the same cores.
	largeSem chan struct{}
	inodes   inodeCache
	subtrees *subtreeLoader // parent trees, loaded ahead of the walker
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
	ru.cancel = cancel
	// Not errgroup.WithContext: its context ends when Wait returns, while
	// files complete (and their directories' trees are saved) after the
	// file jobs have returned. A failing job calls fail instead.
	ru.g = &errgroup.Group{}
	// Twice the workers: on a re-backup most jobs are an lstat and a
	// compare, system calls during which a core would otherwise idle
	// (unchanged bench backup 0.54-0.55 s -> 0.50-0.51 s). Reading jobs
	// are bounded by the save budget and the files in flight as before.
	ru.g.SetLimit(2 * ru.workers)

	stopProgress := ru.startProgress(gctx, targets)
	stopSavers := ru.startSavers(gctx)
	root, werr := ru.walkRoot(gctx, targets)
	if werr != nil {
		cancel() // stop the jobs already queued
	}
	gerr := ru.g.Wait()
	stopSavers()
	ru.async.Wait()
	stopProgress()
	if err := firstFatal(ctx, werr, gerr, ru.fatalErr()); err != nil {
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
	budget := max(int64(opts.Chunker.MaxSize)*saveBudgetChunks, minSaveBudget)
	ru := &run{
		repo: r, opts: opts, match: m, ids: newIDNames(),
		workers: workers, large: large,
		saveq:    make(chan saveJob, maxFilesInFlight),
		inflight: semaphore.NewWeighted(budget),
		budget:   budget,
		files:    make(chan struct{}, maxFilesInFlight),
		largeSem: make(chan struct{}, 1),
		inodes:   inodeCache{m: map[inodeKey]*inodeResult{}},
		start:    time.Now(),
	}
	return ru
}

// fail records a fatal error from a goroutine that cannot return it to
// Backup (a file completing after its job returned) and stops the run.
func (r *run) fail(err error) {
	r.fatalMu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.fatalMu.Unlock()
	r.cancel()
}

func (r *run) fatalErr() error {
	r.fatalMu.Lock()
	defer r.fatalMu.Unlock()
	return r.fatal
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
