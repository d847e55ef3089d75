package restore

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// movePrewritten moves the content Options.Prewritten has for job into
// place and opens it. It returns handled=false when the file is to be
// written from the Loader; otherwise the open file (nil when it could not
// be moved or opened, with err saying why) and how much of its content is
// valid, with the error that cut it short.
func (r *restorer) movePrewritten(job fileJob) (f *os.File, valid int64, err error, handled bool) {
	if r.opts.Prewritten == nil {
		return nil, 0, nil, false
	}
	src, valid, perr := r.opts.Prewritten(job.node, job.dst)
	if src == "" {
		return nil, 0, nil, false
	}
	// RENAME_NOREPLACE keeps O_EXCL's promise: nothing that appeared at
	// dst meanwhile is clobbered.
	if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, job.dst, unix.RENAME_NOREPLACE); err != nil {
		return nil, 0, fmt.Errorf("move prewritten content: %w", err), true
	}
	f, err = os.OpenFile(job.dst, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, err, true
	}
	return f, valid, perr, true
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
