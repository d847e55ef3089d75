// Package fdio reads raw file descriptors, for callers that avoid
// *os.File (which registers every file with the runtime's poller).
package fdio

import (
	"io"

	"golang.org/x/sys/unix"
)

// ReadAt fills p from fd at off with pread, retrying on EINTR. It returns
// len(p) and nil, or the bytes read and io.EOF when the file ends first,
// or the bytes read and pread's error.
func ReadAt(fd int, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Pread(fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}
