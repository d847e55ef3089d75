//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"cairn/tapeio"
	"cairn/tapeio/emulator"
)

// fakeKernel mocks the kernel side of st because no SCSI tape (nor st,
// scsi_debug or mhvtl) can run on the test machines. It keeps the tape in
// an emulator volume and answers the driver the way st does: 0 bytes for a
// filemark, ENOSPC for a write refused at early warning, EIO for a space
// stopped by a filemark, the beginning or the end of data, and MTIOCGET
// with GMT_* flags. Requests are decoded from the raw bytes the driver
// passes, in the layout of <linux/mtio.h> written out here independently,
// so a wrong struct layout or request number fails the tests.
type fakeKernel struct {
	t    *testing.T
	fd   int
	tape *emulator.Drive

	eod       bool // st's ST_EOD: after MTEOM or a read that hit the end of data
	lastFM    bool // the previous read returned a filemark
	ewWrite   bool // the last write was accepted in the early-warning zone
	physEnd   bool // a write was refused at the physical end
	ops       [][2]int32
	closed    bool
	lastWrite bool
}

func (k *fakeKernel) checkFD(fd int) error {
	if fd != k.fd || k.closed {
		k.t.Errorf("system call on fd %d, want open fd %d", fd, k.fd)
		return unix.EBADF
	}
	return nil
}

// errno translates an emulator condition into what st returns for it.
func errno(err error) error {
	switch {
	case errors.Is(err, tapeio.ErrEndOfMedium):
		return unix.ENOSPC
	case errors.Is(err, tapeio.ErrWriteProtected):
		return unix.EACCES
	case errors.Is(err, tapeio.ErrInvalidBlockSize):
		return unix.EINVAL
	case errors.Is(err, tapeio.ErrBufferTooSmall):
		return unix.ENOMEM
	}
	return unix.EIO
}

func (k *fakeKernel) Read(fd int, p []byte) (int, error) {
	if err := k.checkFD(fd); err != nil {
		return 0, err
	}
	lastFM, eod := k.lastFM, k.eod
	k.lastFM, k.ewWrite, k.lastWrite = false, false, false
	if eod {
		return 0, unix.EIO // st: reads after the end of data fail
	}
	n, err := k.tape.ReadRecord(p)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, tapeio.ErrFilemark):
		k.lastFM = true
		return 0, nil
	case errors.Is(err, tapeio.ErrEndOfData):
		st, _ := k.tape.Status()
		if !st.EOD {
			return 0, nil // a second filemark: st just reports another one
		}
		if lastFM {
			k.eod = true // "zero returned for first BLANK CHECK after EOF"
			return 0, nil
		}
		return 0, unix.EIO // blank check without a filemark first
	}
	return 0, errno(err)
}

func (k *fakeKernel) Write(fd int, p []byte) (int, error) {
	if err := k.checkFD(fd); err != nil {
		return 0, err
	}
	k.eod, k.lastFM = false, false
	err := k.tape.WriteRecord(p)
	if err == nil {
		st, _ := k.tape.Status()
		k.ewWrite, k.lastWrite = st.EarlyWarning, true
		return len(p), nil
	}
	k.ewWrite = false
	if st, _ := k.tape.Status(); errors.Is(err, tapeio.ErrEndOfMedium) && st.EOT {
		k.physEnd = true
		return 0, unix.EIO
	}
	return 0, errno(err)
}

func (k *fakeKernel) Close(fd int) error {
	if err := k.checkFD(fd); err != nil {
		return err
	}
	k.closed = true
	return k.tape.Close() // adds the filemark after a write, as st does
}

func (k *fakeKernel) Ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if err := k.checkFD(fd); err != nil {
		return err
	}
	switch req {
	case 0x40086d01: // MTIOCTOP
		raw := unsafe.Slice((*byte)(arg), 8)
		op := int16(binary.NativeEndian.Uint16(raw[0:]))
		pad := binary.NativeEndian.Uint16(raw[2:])
		count := int32(binary.NativeEndian.Uint32(raw[4:]))
		if pad != 0 {
			k.t.Errorf("mtop padding = %#x, want 0", pad)
		}
		k.ops = append(k.ops, [2]int32{int32(op), count})
		return k.mtop(op, int(count))
	case 0x80306d02: // MTIOCGET
		k.mtget(unsafe.Slice((*byte)(arg), 48))
		return nil
	}
	k.t.Errorf("unexpected ioctl request %#x", req)
	return unix.ENOTTY
}

func (k *fakeKernel) mtop(op int16, count int) error {
	k.lastFM, k.ewWrite, k.physEnd, k.lastWrite = false, false, false, false
	eod := k.eod
	k.eod = false
	var err error
	switch op {
	case 1: // MTFSF
		err = k.tape.SpaceFiles(count)
	case 2: // MTBSF
		err = k.tape.SpaceFiles(-count)
	case 3: // MTFSR
		err = k.tape.SpaceRecords(count)
	case 4: // MTBSR
		err = k.tape.SpaceRecords(-count)
	case 5: // MTWEOF
		k.eod = eod
		if count > 0 {
			err = k.tape.WriteFilemarks(count)
		}
	case 6: // MTREW
		err = k.tape.Rewind()
	case 12: // MTEOM
		err = k.tape.SeekEndOfData()
		k.eod = true
	case 20: // MTSETBLK
		err = k.tape.SetBlockSize(count)
	default:
		k.t.Errorf("unexpected mtop %d", op)
		return unix.EINVAL
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tapeio.ErrEndOfData):
		k.eod = true
		return unix.EIO
	case errors.Is(err, tapeio.ErrFilemark), errors.Is(err, tapeio.ErrBeginningOfMedium):
		return unix.EIO
	}
	return errno(err)
}

// mtget fills struct mtget at its <linux/mtio.h> offsets.
func (k *fakeKernel) mtget(raw []byte) {
	clear(raw)
	st, err := k.tape.Status()
	if err != nil {
		k.t.Errorf("emulator status: %v", err)
		return
	}
	var gstat uint64 = 0x01000000 // GMT_ONLINE
	if st.WriteProtected {
		gstat |= 0x04000000
	}
	if st.Record == 0 && st.File == 0 {
		gstat |= 0x40000000 // GMT_BOT
	} else if st.Record == 0 {
		gstat |= 0x80000000 // GMT_EOF
	}
	if k.ewWrite || k.physEnd {
		gstat |= 0x20000000 // GMT_EOT
	} else if k.eod {
		gstat |= 0x08000000 // GMT_EOD
	}
	binary.NativeEndian.PutUint64(raw[0:], 0x72) // mt_type MT_ISSCSI2
	binary.NativeEndian.PutUint64(raw[16:], uint64(st.BlockSize))
	binary.NativeEndian.PutUint64(raw[24:], gstat)
	binary.NativeEndian.PutUint32(raw[40:], uint32(int32(st.File)))
	binary.NativeEndian.PutUint32(raw[44:], uint32(int32(st.Record)))
}
