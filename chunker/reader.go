package chunker

import (
	"fmt"
	"io"
)

// rangeReader reads [off, end) of a ReaderAt as a stream. Unlike
// io.SectionReader it reports a source shorter than end as an error rather
// than a clean EOF: otherwise a truncated image would silently chunk as a
// shorter one. It also counts the bytes it reads, for ResyncStats.
type rangeReader struct {
	ra   io.ReaderAt
	off  int64
	end  int64
	read *int64 // may be nil
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	if rem := r.end - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := r.ra.ReadAt(p, r.off)
	r.off += int64(n)
	if r.read != nil {
		*r.read += int64(n)
	}
	if n == len(p) {
		// io.ReaderAt may return io.EOF together with a full read at the
		// very end of the source; that is not an error here.
		return n, nil
	}
	if err == nil || err == io.EOF {
		// Wrapped, so restic (which compares with ==) does not mistake it
		// for the benign short final read of io.ReadFull.
		return n, fmt.Errorf("source ends at offset %d, before %d: %w",
			r.off, r.end, io.ErrUnexpectedEOF)
	}
	return n, fmt.Errorf("read at offset %d: %w", r.off, err)
}
