package docker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Stream numbers of Docker's stdcopy framing.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamSystem = 3 // an error from the daemon, e.g. exec failed to start
)

// maxFrame bounds one frame's payload: the daemon writes at most 32 KiB
// per frame; anything far larger is a corrupt stream, not a reason to
// allocate.
const maxFrame = 16 << 20

// ErrBadFrame is returned for a stream that is not in stdcopy framing.
var ErrBadFrame = errors.New("docker stream: bad stdcopy frame")

// Demux reads Docker's multiplexed exec/attach stream — frames of an
// 8-byte header [stream, 0, 0, 0, size uint32 big-endian] and size bytes
// of payload — and returns standard output through Read; standard error
// payloads go to Stderr. A frame on the system stream ends the stream
// with an error holding its text.
type Demux struct {
	rd     io.Reader
	Stderr io.Writer
	left   int // stdout payload bytes left in the current frame
	err    error
	hdr    [8]byte
}

// NewDemux returns a Demux reading rd and writing standard error to stderr
// (nil discards it).
func NewDemux(rd io.Reader, stderr io.Writer) *Demux {
	if stderr == nil {
		stderr = io.Discard
	}
	return &Demux{rd: rd, Stderr: stderr}
}

// Read returns standard output bytes; io.EOF at a clean end of stream
// (between frames).
func (d *Demux) Read(p []byte) (int, error) {
	for d.left == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if _, err := io.ReadFull(d.rd, d.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("%w: truncated header", ErrBadFrame)
			}
			d.err = err
			return 0, err
		}
		if d.hdr[1] != 0 || d.hdr[2] != 0 || d.hdr[3] != 0 {
			d.err = fmt.Errorf("%w: header % x", ErrBadFrame, d.hdr)
			return 0, d.err
		}
		size := binary.BigEndian.Uint32(d.hdr[4:])
		if size > maxFrame {
			d.err = fmt.Errorf("%w: frame of %d bytes", ErrBadFrame, size)
			return 0, d.err
		}
		switch d.hdr[0] {
		case streamStdout:
			d.left = int(size)
		case streamStderr, streamStdin:
			if err := d.copyN(d.Stderr, int64(size)); err != nil {
				return 0, err
			}
		case streamSystem:
			var b []byte
			b, err := io.ReadAll(io.LimitReader(d.rd, int64(size)))
			if err == nil && len(b) < int(size) {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				d.err = fmt.Errorf("%w: truncated system frame: %w", ErrBadFrame, err)
			} else {
				d.err = fmt.Errorf("docker stream: daemon error: %s", b)
			}
			return 0, d.err
		default:
			d.err = fmt.Errorf("%w: unknown stream %d", ErrBadFrame, d.hdr[0])
			return 0, d.err
		}
	}
	n, err := d.rd.Read(p[:min(len(p), d.left)])
	d.left -= n
	if err == io.EOF && d.left > 0 {
		err = fmt.Errorf("%w: stream ends inside a frame", ErrBadFrame)
	} else if err == io.EOF {
		err = nil // the next Read reads the next header (or the clean end)
	}
	if err != nil {
		d.err = err
	}
	return n, err
}

func (d *Demux) copyN(w io.Writer, n int64) error {
	got, err := io.CopyN(w, d.rd, n)
	if err == io.EOF || (err == nil && got < n) {
		err = fmt.Errorf("%w: stream ends inside a frame", ErrBadFrame)
	}
	if err != nil {
		d.err = err
	}
	return err
}
