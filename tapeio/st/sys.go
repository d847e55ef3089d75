//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysCalls is the part of the kernel the driver uses. It is the seam where
// the tests put a mock kernel, since no SCSI tape can run there; unixSys is
// the real one.
type sysCalls interface {
	Read(fd int, p []byte) (int, error)
	Write(fd int, p []byte) (int, error)
	// Ioctl issues request req with arg pointing at the request's struct.
	Ioctl(fd int, req uintptr, arg unsafe.Pointer) error
	Close(fd int) error
}

// unixSys makes the real system calls.
type unixSys struct{}

// Read is read(2).
func (unixSys) Read(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Write is write(2).
func (unixSys) Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// Close is close(2); st writes a filemark here after a write.
func (unixSys) Close(fd int) error { return unix.Close(fd) }

// Ioctl is ioctl(2). Not retried on EINTR: a repeated MTFSF would space
// twice.
func (unixSys) Ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
