package chunker

import (
	"bytes"
	"fmt"
	"io"
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
//
// Its cuts are restic/chunker's (TestChunkerMatchesRestic and
// FuzzChunkerMatchesRestic compare them), computed by rabin over a buffer
// that holds the current chunk whole: the stream is read straight into it,
// and a chunk is handed out from it without restic's intermediate copies.
type Chunker struct {
	p     Params
	rabin rabin // zero unless made by New/NewAt/newChunker with checked params
	rd    io.Reader
	off   int64 // stream offset of buf[start]
	// buf[start:n] are read bytes not yet handed out; the current chunk
	// starts at buf[start]. It grows up to MaxSize+readSize, so small
	// inputs never pay for a MaxSize buffer.
	buf      []byte
	start, n int
	eof      bool
	// err is sticky: after a failed read the stream position is unknown,
	// and invalid params can only be reported by Next.
	err error
}

// readSize is how much is read from the stream at a time.
const readSize = 512 << 10

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
	return &Chunker{p: p, rabin: newRabin(p)}
}

// Reset makes c chunk rd from offset base, as if it had just been returned by
// NewAt with the same params, but reusing c's buffers. Use it to chunk many
// files without allocating a chunker for each.
func (c *Chunker) Reset(rd io.Reader, base int64) {
	if !c.made() {
		return // invalid params: keep reporting the validation error
	}
	c.reset(rd, base)
}

// made reports whether c was made with checked params (its tables set).
func (c *Chunker) made() bool { return c.rabin.tab != nil }

func (c *Chunker) reset(rd io.Reader, base int64) {
	c.rd = rd
	c.off = base
	c.start, c.n = 0, 0
	c.eof = false
	c.err = nil
	c.rabin.startChunk()
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

// nextBound is Next without copying the chunk out of the buffer: it
// returns the chunk's offset and length only, for Split's workers, which
// keep boundaries, not data.
func (c *Chunker) nextBound() (off int64, n int, err error) {
	raw, off, err := c.next()
	return off, len(raw), err
}

// next cuts the next chunk and returns it with its offset; the slice is
// valid until the next call.
func (c *Chunker) next() ([]byte, int64, error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	if !c.made() {
		return nil, 0, fmt.Errorf("%w: Chunker not made by New or NewAt", ErrInvalidInput)
	}
	for {
		if c.start < c.n || !c.eof {
			if k := c.rabin.cut(c.buf[c.start:c.n], c.eof); k > 0 {
				raw := c.buf[c.start : c.start+k]
				off := c.off
				c.start += k
				c.off += int64(k)
				c.rabin.startChunk()
				return raw, off, nil
			}
		}
		if c.eof {
			c.err = io.EOF
			return nil, 0, io.EOF
		}
		if err := c.fill(); err != nil {
			c.err = fmt.Errorf("chunker: chunk at offset %d: %w", c.off, err)
			return nil, 0, c.err
		}
	}
}

// fill reads more of the stream after buf[c.n], making room first by
// moving the current chunk's bytes to the front or growing the buffer.
func (c *Chunker) fill() error {
	if len(c.buf)-c.n < readSize {
		pending := c.n - c.start
		if want := pending + readSize; want > len(c.buf) {
			size := max(2*len(c.buf), want, 64<<10)
			size = min(size, max(int(c.p.MaxSize)+readSize, want))
			grown := make([]byte, size)
			copy(grown, c.buf[c.start:c.n])
			c.buf = grown
		} else {
			copy(c.buf, c.buf[c.start:c.n])
		}
		c.start, c.n = 0, pending
	}
	for {
		k, err := c.rd.Read(c.buf[c.n:min(len(c.buf), c.n+readSize)])
		c.n += k
		if err == io.EOF {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if k > 0 {
			return nil
		}
	}
}
