package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"cairn/tapeio/volume"
)

// fileKey names a logical file: set file numbers are unique per set.
type fileKey struct {
	set     volume.ID
	setFile uint32
}

// span is a byte range [Start, End) of a file.
type span struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// spans is a sorted list of disjoint, non-adjacent ranges.
type spans []span

// add inserts [s, e), merging.
func (r *spans) add(s, e int64) {
	if s >= e {
		return
	}
	l := *r
	// Blocks arrive in order: extend the last range in the common case.
	if n := len(l); n > 0 && l[n-1].Start <= s && s <= l[n-1].End {
		l[n-1].End = max(l[n-1].End, e)
		return
	}
	l = append(l, span{s, e})
	sort.Slice(l, func(i, j int) bool { return l[i].Start < l[j].Start })
	out := l[:1]
	for _, x := range l[1:] {
		last := &out[len(out)-1]
		if x.Start <= last.End {
			last.End = max(last.End, x.End)
		} else {
			out = append(out, x)
		}
	}
	*r = out
}

// covers reports whether [s, e) is wholly covered.
func (r spans) covers(s, e int64) bool {
	for _, x := range r {
		if x.Start <= s && e <= x.End {
			return true
		}
	}
	return s >= e
}

// holes returns the uncovered ranges of [0, size).
func (r spans) holes(size int64) spans {
	var out spans
	pos := int64(0)
	for _, x := range r {
		if x.Start > pos {
			out = append(out, span{pos, min(x.Start, size)})
		}
		pos = max(pos, x.End)
	}
	if pos < size {
		out = append(out, span{pos, size})
	}
	return out
}

// staged is a logical file being assembled from blocks, in a sparse file.
type staged struct {
	key     fileKey
	kind    volume.Kind
	name    string
	named   bool
	size    int64 // -1 until the last block was seen
	aborted bool
	cov     spans
	path    string
}

// complete reports whether every byte arrived.
func (f *staged) complete() bool {
	return f.size >= 0 && !f.aborted && f.cov.covers(0, f.size)
}

// read returns the file's bytes, zeros where nothing arrived. Size is the
// known size, or the end of the last range seen.
func (f *staged) read() ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	n := f.size
	if n < 0 && len(f.cov) > 0 {
		n = f.cov[len(f.cov)-1].End
	}
	if int64(len(b)) < n {
		b = append(b, make([]byte, n-int64(len(b)))...)
	}
	return b[:max(n, 0)], nil
}

// stager assembles the files of all volumes in a directory.
type stager struct {
	dir   string
	files map[fileKey]*staged
	order []*staged
	cur   *staged
	curF  *os.File
}

func newStager(dir string) (*stager, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir: %w", err)
	}
	return &stager{dir: dir, files: map[fileKey]*staged{}}, nil
}

// add stores one intact data block of set.
func (s *stager) add(set volume.ID, k block) error {
	key := fileKey{set, k.setFile}
	f := s.files[key]
	if f == nil {
		f = &staged{key: key, kind: k.kind, size: -1, path: filepath.Join(s.dir, fmt.Sprintf("%s-%d", set, k.setFile))}
		s.files[key] = f
		s.order = append(s.order, f)
	}
	if k.hasName && !f.named {
		f.name, f.named = k.name, true
	}
	if k.flags&volume.FlagLast != 0 {
		f.size = k.dataOffset + int64(len(k.data))
	}
	if k.flags&volume.FlagAborted != 0 {
		f.aborted = true
	}
	if len(k.data) == 0 {
		return nil
	}
	if s.cur != f {
		if err := s.closeCur(); err != nil {
			return err
		}
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		s.cur, s.curF = f, fh
	}
	if _, err := s.curF.WriteAt(k.data, k.dataOffset); err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	f.cov.add(k.dataOffset, k.dataOffset+int64(len(k.data)))
	return nil
}

func (s *stager) closeCur() error {
	if s.curF == nil {
		return nil
	}
	err := s.curF.Close()
	s.cur, s.curF = nil, nil
	return err
}

// remove deletes the staging directory.
func (s *stager) remove() error {
	s.closeCur()
	return os.RemoveAll(s.dir)
}
