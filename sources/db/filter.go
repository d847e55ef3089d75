package db

import "io"

// filterReader runs a dump filter (recut, rdbSort) in a goroutine between
// the dump and its reader, and keeps what the filter counted.
type filterReader[S any] struct {
	src  io.ReadCloser
	pr   *io.PipeReader
	done chan struct{}
	// stats is set when done is closed.
	stats S
}

// newFilterReader returns src passed through filter. Close closes src.
func newFilterReader[S any](src io.ReadCloser, filter func(io.Writer, io.Reader) (S, error)) *filterReader[S] {
	pr, pw := io.Pipe()
	r := &filterReader[S]{src: src, pr: pr, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		st, err := filter(pw, src)
		r.stats = st
		pw.CloseWithError(err)
	}()
	return r
}

func (r *filterReader[S]) Read(p []byte) (int, error) { return r.pr.Read(p) }

// Close stops the filter and closes the dump.
func (r *filterReader[S]) Close() error {
	r.pr.CloseWithError(io.ErrClosedPipe)
	err := r.src.Close()
	<-r.done
	return err
}

// Stats returns the counts; it waits for the filter to end, so call it
// only after reading to the end or closing.
func (r *filterReader[S]) Stats() S {
	<-r.done
	return r.stats
}

// RDBSorter is a Redis RDB stream with each database's keys sorted by name
// (rdbsort.go), for sources that run redis-cli themselves (docker).
type RDBSorter struct{ f *filterReader[RDBSortInfo] }

// SortRDB returns rd's RDB with its keys sorted. Closing the sorter
// closes rd.
func SortRDB(rd io.ReadCloser) *RDBSorter {
	return &RDBSorter{f: newFilterReader(rd, rdbSort)}
}

// Read reads the sorted RDB.
func (s *RDBSorter) Read(p []byte) (int, error) { return s.f.Read(p) }

// Close stops sorting and closes the dump.
func (s *RDBSorter) Close() error { return s.f.Close() }

// Info reports what sorting did; it waits for the sorter to end, so call
// it only after reading to the end or closing.
func (s *RDBSorter) Info() RDBSortInfo { return s.f.Stats() }
