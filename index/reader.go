package index

import (
	"encoding/binary"
	"fmt"

	"cairn/internal/crypto"
)

// reader consumes untrusted bytes. The first failure sticks in err and
// turns every later read into a no-op returning zero, so parsers check once
// per loop instead of after every field.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format+": %w", append(args, ErrFormat)...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) < 1 {
		r.fail("truncated")
		return 0
	}
	v := r.buf[0]
	r.buf = r.buf[1:]
	return v
}

func (r *reader) bytes(dst []byte) {
	if r.err != nil {
		return
	}
	if len(r.buf) < len(dst) {
		r.fail("truncated")
		return
	}
	copy(dst, r.buf)
	r.buf = r.buf[len(dst):]
}

func (r *reader) id(dst *crypto.ID) { r.bytes(dst[:]) }

// uvarint reads a minimally encoded unsigned varint no larger than max.
func (r *reader) uvarint(max uint64, what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	switch {
	case n == 0:
		r.fail("%s: truncated", what)
		return 0
	case n < 0:
		r.fail("%s: varint overflows 64 bits", what)
		return 0
	case n > 1 && r.buf[n-1] == 0:
		// A last byte of zero adds nothing: the value had a shorter
		// encoding. Rejecting it keeps the encoding canonical.
		r.fail("%s: non-minimal varint", what)
		return 0
	case v > max:
		r.fail("%s: %d out of range", what, v)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads an element count and checks that the remaining bytes can
// hold that many elements of at least minLen bytes each, so no allocation
// is ever larger than the input justifies.
func (r *reader) count(minLen int, what string) int {
	v := r.uvarint(uint64(len(r.buf)), what)
	if r.err != nil {
		return 0
	}
	if v > uint64(len(r.buf)/minLen) {
		r.fail("%s %d exceeds the %d bytes left", what, v, len(r.buf))
		return 0
	}
	return int(v)
}
