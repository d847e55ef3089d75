//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Open opens the st device at path (normally /dev/nstN). st's open waits
// for the drive to become ready. A write-protected cartridge is opened
// read-only, reported by Status and by ErrWriteProtected on writes.
func Open(path string, opts Options) (*Drive, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("open tape %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && !opts.AllowRewinding &&
		isRewindingTape(unix.Major(st.Rdev), unix.Minor(st.Rdev)) {
		return nil, fmt.Errorf("open tape %s: %w", path, ErrRewindingDevice)
	}
	mode, readOnly := unix.O_RDWR, opts.ReadOnly
	if readOnly {
		mode = unix.O_RDONLY
	}
	fd, err := unix.Open(path, mode|unix.O_CLOEXEC, 0)
	if !readOnly && (errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES)) {
		// st refuses O_RDWR on a write-protected cartridge with EROFS.
		readOnly = true
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if s := sentinelFor(err); s != nil && !errors.Is(err, unix.EINVAL) {
			if errors.Is(err, unix.EIO) {
				return nil, fmt.Errorf("open tape %s (no cartridge loaded?): %w: %w", path, s, err)
			}
			return nil, fmt.Errorf("open tape %s: %w: %w", path, s, err)
		}
		return nil, fmt.Errorf("open tape %s: %w", path, err)
	}
	return newDrive(path, fd, unixSys{}, readOnly), nil
}
