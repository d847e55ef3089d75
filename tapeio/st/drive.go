//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"cairn/tapeio"
)

// Drive is a tape drive behind the Linux st driver. It implements
// tapeio.Drive; see that interface for the semantics and docs/tape.md for
// how st's conditions map onto them.
type Drive struct {
	mu       sync.Mutex
	name     string
	fd       int
	sys      sysCalls
	readOnly bool
	closed   bool

	zeroRead bool // the last operation was a read that returned 0 bytes
	atEOD    bool // the last read reported the end of data
	refused  int  // consecutive writes refused with ENOSPC
	warned   bool // a write was refused since the tape last moved
}

var _ tapeio.Drive = (*Drive)(nil)

func newDrive(name string, fd int, sys sysCalls, readOnly bool) *Drive {
	return &Drive{name: name, fd: fd, sys: sys, readOnly: readOnly}
}

// moved forgets the state that only lives until the tape is repositioned.
func (d *Drive) moved() {
	d.zeroRead, d.atEOD, d.refused, d.warned = false, false, 0, false
}

func (d *Drive) check() error {
	if d.closed {
		return fmt.Errorf("%s: %w", d.name, tapeio.ErrClosed)
	}
	return nil
}

// fail wraps errno with the sentinel it stands for, keeping the errno
// itself reachable through errors.Is.
func (d *Drive) fail(what string, sentinel, errno error) error {
	if sentinel == nil {
		return fmt.Errorf("%s: %s: %w", d.name, what, errno)
	}
	return fmt.Errorf("%s: %s: %w: %w", d.name, what, sentinel, errno)
}

// sentinelFor maps the errnos that mean the same on every st operation.
func sentinelFor(err error) error {
	switch {
	case errors.Is(err, unix.ENOSPC):
		return tapeio.ErrEndOfMedium
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EROFS):
		return tapeio.ErrWriteProtected
	case errors.Is(err, unix.ENOMEDIUM):
		return tapeio.ErrNoMedium
	case errors.Is(err, unix.EBUSY):
		return tapeio.ErrBusy
	case errors.Is(err, unix.EINVAL):
		return tapeio.ErrInvalidBlockSize
	case errors.Is(err, unix.ENOMEM):
		return tapeio.ErrBufferTooSmall
	case errors.Is(err, unix.EIO):
		return tapeio.ErrIO
	}
	return nil
}

func (d *Drive) op(op int16, count int) error {
	if count < 0 || count > math.MaxInt32 {
		return fmt.Errorf("%s: mtop %d: count %d out of range", d.name, op, count)
	}
	m := mtop{op: op, count: int32(count)}
	return d.sys.Ioctl(d.fd, mtiocTop, unsafe.Pointer(&m))
}

func (d *Drive) get() (mtget, error) {
	var g mtget
	err := d.sys.Ioctl(d.fd, mtiocGet, unsafe.Pointer(&g))
	return g, err
}

// WriteRecord implements tapeio.Drive.
func (d *Drive) WriteRecord(p []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if len(p) == 0 {
		return fmt.Errorf("%s: write of 0 bytes: %w", d.name, tapeio.ErrInvalidBlockSize)
	}
	d.zeroRead, d.atEOD = false, false
	n, err := d.sys.Write(d.fd, p)
	if err != nil {
		s := sentinelFor(err)
		if errors.Is(err, unix.EIO) {
			// st reports a write at the physical end as EIO with GMT_EOT.
			if g, gerr := d.get(); gerr == nil && g.gstat&gmtEOT != 0 {
				s = tapeio.ErrEndOfMedium
			}
		}
		if s == tapeio.ErrEndOfMedium {
			d.refused++
			d.warned = true
		}
		return d.fail(fmt.Sprintf("write %d bytes", len(p)), s, err)
	}
	d.refused = 0
	if n != len(p) {
		// Only fixed-block mode at the end of medium writes part of a request.
		d.warned = true
		return fmt.Errorf("%s: short write, %d of %d bytes: %w", d.name, n, len(p), tapeio.ErrEndOfMedium)
	}
	return nil
}

// ReadRecord implements tapeio.Drive. st returns 0 bytes for a filemark;
// a 0-byte read with GMT_EOD set, or directly after another 0-byte read,
// is the end of data, and st's EIO on the read after that is too.
func (d *Drive) ReadRecord(buf []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return 0, err
	}
	if len(buf) == 0 {
		return 0, fmt.Errorf("%s: read into empty buffer: %w", d.name, tapeio.ErrInvalidBlockSize)
	}
	zeroRead, atEOD := d.zeroRead, d.atEOD
	d.moved()
	n, err := d.sys.Read(d.fd, buf)
	switch {
	case err != nil && errors.Is(err, unix.EIO):
		if g, gerr := d.get(); atEOD || (gerr == nil && g.gstat&gmtEOD != 0) {
			d.atEOD = true
			return 0, d.fail("read", tapeio.ErrEndOfData, err)
		}
		return 0, d.fail("read", tapeio.ErrIO, err)
	case err != nil:
		return 0, d.fail(fmt.Sprintf("read into %d bytes", len(buf)), sentinelFor(err), err)
	case n == 0:
		g, gerr := d.get()
		if zeroRead || (gerr == nil && g.gstat&gmtEOD != 0) {
			d.atEOD = true
			return 0, fmt.Errorf("%s: %w", d.name, tapeio.ErrEndOfData)
		}
		d.zeroRead = true
		return 0, tapeio.ErrFilemark
	}
	return n, nil
}

// WriteFilemarks implements tapeio.Drive.
func (d *Drive) WriteFilemarks(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%s: write %d filemarks: negative count", d.name, n)
	}
	d.zeroRead, d.atEOD, d.refused = false, false, 0
	if err := d.op(mtWEOF, n); err != nil {
		return d.fail(fmt.Sprintf("write %d filemarks", n), sentinelFor(err), err)
	}
	return nil
}
