package fs

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

// progressInterval is how often Options.Progress is called.
const progressInterval = 100 * time.Millisecond

// startProgress starts the reporter and, for its totals, a scan of the
// targets that runs beside the backup; without a Progress callback it does
// nothing. The returned function stops both and makes the final call.
func (r *run) startProgress(ctx context.Context, targets []string) func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	sctx, cancelScan := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.scan(sctx, targets)
	}()
	stop := make(chan struct{})
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.opts.Progress(r.progress())
			case <-stop:
				r.opts.Progress(r.progress())
				return
			}
		}
	}()
	return func() {
		cancelScan()
		close(stop)
		wg.Wait()
	}
}

func (r *run) progress() Progress {
	c := &r.c
	return Progress{
		FilesDone: c.filesDone.Load(), DirsDone: c.dirsDone.Load(),
		BytesDone: c.bytesDone.Load(), BytesRead: c.bytesRead.Load(),
		TotalFiles: c.scanFiles.Load(), TotalBytes: c.scanBytes.Load(),
		ScanDone: c.scanDone.Load(),
		Errors:   int(c.errors.Load()),
		Elapsed:  time.Since(r.start),
	}
}

// scan counts what the backup will visit, applying the same excludes, for
// the progress totals. It only lists directories and lstats entries, so it
// runs well ahead of the workers that read content.
func (r *run) scan(ctx context.Context, targets []string) {
	for _, t := range targets {
		st, err := lstat(t)
		if err != nil {
			continue
		}
		isDir := nodeType(st.Mode) == tree.TypeDir
		if r.match.excludedOrUnder(t, isDir) {
			continue
		}
		if !isDir {
			r.scanCount(st)
			continue
		}
		if !r.scanDir(ctx, t, st.Dev) {
			return
		}
	}
	r.c.scanDone.Store(true)
}

// scanDir counts the entries under dir; false means it was cancelled.
func (r *run) scanDir(ctx context.Context, dir string, devRoot uint64) bool {
	ents, _ := readDir(dir)
	cacheDir := r.opts.ExcludeCaches && isCacheDir(dir)
	for _, de := range ents {
		if ctx.Err() != nil {
			return false
		}
		name := de.Name()
		p := joinPath(dir, name)
		if (cacheDir && name != cacheTagName) || r.match.excluded(p, de.IsDir()) {
			continue
		}
		st, err := lstat(p)
		if err != nil {
			continue
		}
		if nodeType(st.Mode) != tree.TypeDir {
			r.scanCount(st)
			continue
		}
		if r.opts.OneFileSystem && st.Dev != devRoot {
			continue
		}
		if !r.scanDir(ctx, p, devRoot) {
			return false
		}
	}
	return true
}

func (r *run) scanCount(st *unix.Stat_t) {
	r.c.scanFiles.Add(1)
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		r.c.scanBytes.Add(st.Size)
	}
}
