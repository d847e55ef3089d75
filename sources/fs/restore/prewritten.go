package restore

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createContent creates job.dst exclusively with its content: written from
// the Loader, or moved into place from Options.Prewritten. It returns the
// open file and the offset the content reached; a nil file means it could
// not be created.
func (r *restorer) createContent(ctx context.Context, w *worker, job fileJob) (*os.File, int64, error) {
	if r.opts.Prewritten != nil {
		src, valid, perr := r.opts.Prewritten(job.node, job.dst)
		if src != "" {
			// RENAME_NOREPLACE keeps O_EXCL's promise: nothing that appeared
			// at dst meanwhile is clobbered.
			if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, job.dst, unix.RENAME_NOREPLACE); err != nil {
				return nil, 0, fmt.Errorf("move prewritten content: %w", err)
			}
			f, err := os.OpenFile(job.dst, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, 0, err
			}
			return f, valid, perr
		}
	}
	f, err := os.OpenFile(job.dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, 0, err
	}
	off, err := r.writeChunks(ctx, w, f, job.node)
	return f, off, err
}

// Selector makes Restore's include/exclude decision for callers that
// walk a snapshot themselves (tape restore plans which file contents to
// stage before Restore runs).
type Selector struct{ m *matcher }

// NewSelector parses patterns as Options.Includes and Options.Excludes.
func NewSelector(includes, excludes []string) (*Selector, error) {
	m, err := newMatcher(includes, excludes)
	if err != nil {
		return nil, err
	}
	return &Selector{m: m}, nil
}

// Skip reports whether Restore leaves out the entry at snapshot path p
// (components from the root) and, for a directory, everything below it.
func (s *Selector) Skip(p []string, isDir bool) bool { return s.m.classify(p, isDir) == skip }
