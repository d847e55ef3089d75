package chunker

import (
	"bytes"
	"fmt"
	"io"

	rc "github.com/restic/chunker"
)

// Chunk is one content-defined piece of the input.
type Chunk struct {
	// Offset is the position of the chunk's first byte in the input,
	// including any base offset given to NewAt.
	Offset int64
	// Data is the chunk's content. It is a fresh buffer for every chunk:
	// the caller owns it and may keep or modify it. Resync sets it to nil
	// for chunks reused from the parent without reading.
	Data []byte
}

// End returns the offset just past the chunk's last byte.
func (c Chunk) End() int64 { return c.Offset + int64(len(c.Data)) }

// Chunker cuts a stream into chunks, one Next call at a time. It is not safe
// for concurrent use.
type Chunker struct {
	p   Params
	rc  *rc.Chunker
	off int64
	// scratch is handed to restic, which appends the chunk to it; it keeps
	// the largest capacity seen so far so that appends stop reallocating,
	// while small inputs never pay for a MaxSize buffer.
	scratch []byte
	// err is sticky: restic leaves its state undefined after a failed read,
	// and invalid params can only be reported by Next.
	err error
}

// New returns a Chunker over rd. Chunk offsets count from the start of rd.
// It checks the sizes and the polynomial's degree but, for speed, not its
// irreducibility (see Params.Validate); invalid params are reported by the
// first call to Next.
func New(rd io.Reader, p Params) *Chunker { return NewAt(rd, 0, p) }

// NewAt is like New, but chunk offsets count from base: use it when rd starts
// at position base of a larger file or image.
func NewAt(rd io.Reader, base int64, p Params) *Chunker {
	if err := p.check(); err != nil {
		return &Chunker{p: p, err: err}
	}
	c := newChunker(p)
	c.reset(rd, base)
	return c
}

// newChunker returns an unattached Chunker for params that the caller has
// already validated; reset must be called before Next.
func newChunker(p Params) *Chunker {
	return &Chunker{p: p, rc: rc.NewWithBoundaries(nil, rc.Pol(p.Polynomial), p.MinSize, p.MaxSize)}
}

// Reset makes c chunk rd from offset base, as if it had just been returned by
// NewAt with the same params, but reusing c's buffers. Use it to chunk many
// files without allocating a chunker for each.
func (c *Chunker) Reset(rd io.Reader, base int64) {
	if c.rc == nil {
		return // invalid params: keep reporting the validation error
	}
	c.reset(rd, base)
}

func (c *Chunker) reset(rd io.Reader, base int64) {
	c.rc.ResetWithBoundaries(rd, rc.Pol(c.p.Polynomial), c.p.MinSize, c.p.MaxSize)
	// ResetWithBoundaries restores restic's default 20 average bits.
	c.rc.SetAverageBits(c.p.AverageBits)
	c.off = base
	c.err = nil
}

// Next returns the next chunk, or io.EOF (unwrapped) after the last one. The
// last chunk may be shorter than MinSize; an empty input yields no chunk.
// After any other error the Chunker is unusable until Reset.
func (c *Chunker) Next() (Chunk, error) {
	raw, off, err := c.next()
	if err != nil {
		return Chunk{}, err
	}
	// Clone, not make+copy: append skips zeroing memory it overwrites at
	// once, which is worth ~10% of the chunker's time.
	return Chunk{Offset: off, Data: bytes.Clone(raw)}, nil
}

// nextBound is Next without copying the chunk out of the scratch buffer:
// it returns the chunk's offset and length only, for Split's workers,
// which keep boundaries, not data.
func (c *Chunker) nextBound() (off int64, n int, err error) {
	raw, off, err := c.next()
	return off, len(raw), err
}

// next cuts the next chunk into c.scratch and returns it with its offset;
// the slice is valid until the next call.
func (c *Chunker) next() ([]byte, int64, error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	if c.rc == nil {
		return nil, 0, fmt.Errorf("%w: Chunker not made by New or NewAt", ErrInvalidInput)
	}
	rch, err := c.rc.Next(c.scratch[:0])
	if err != nil {
		if err == io.EOF { // restic returns io.EOF itself, never wrapped
			c.err = io.EOF
		} else {
			c.err = fmt.Errorf("chunker: chunk at offset %d: %w", c.off, err)
		}
		return nil, 0, c.err
	}
	c.scratch = rch.Data[:0]
	off := c.off
	c.off += int64(len(rch.Data))
	return rch.Data, off, nil
}
