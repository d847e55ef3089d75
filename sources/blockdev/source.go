package blockdev

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"cairn/chunker"
	"cairn/internal/fdio"
)

// Image is a block device or image file opened for backup. Its ReadAt is
// safe for concurrent use; for a regular file, holes (found once with
// SEEK_DATA/SEEK_HOLE at open) read as zeros without I/O.
type Image struct {
	f      *os.File
	fd     int
	size   int64
	device bool
	// data lists the file's data regions, sorted; nil means "all data"
	// (a device, or a file system that does not report holes).
	data []chunker.Extent
	read atomic.Int64
}

// OpenImage opens a block device or regular file read-only.
func OpenImage(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img := &Image{f: f, fd: int(f.Fd())}
	switch {
	case fi.Mode().IsRegular():
		img.size = fi.Size()
		img.data, err = dataRegions(img.fd, img.size)
	case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		img.device = true
		// Seeking to the end is how Linux reports a block device's size,
		// without a device-specific ioctl.
		img.size, err = f.Seek(0, io.SeekEnd)
	default:
		err = fmt.Errorf("not a block device or regular file (%v)", fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open image %s: %w", path, err)
	}
	return img, nil
}

// Size returns the image size in bytes.
func (m *Image) Size() int64 { return m.size }

// IsDevice reports whether the image is a block device.
func (m *Image) IsDevice() bool { return m.device }

// BytesRead returns the bytes read from storage so far; holes do not count.
func (m *Image) BytesRead() int64 { return m.read.Load() }

// Close closes the image.
func (m *Image) Close() error { return m.f.Close() }

// ReadAt implements io.ReaderAt. It fills p unless the image ends first
// (io.EOF) or a read fails.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if off >= m.size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := m.size - off; int64(want) > rem {
		p = p[:rem]
	}
	for done := 0; done < len(p); {
		pos := off + int64(done)
		n, hole := m.span(pos, int64(len(p)-done))
		buf := p[done : done+int(n)]
		if hole {
			clear(buf)
		} else if err := m.pread(buf, pos); err != nil {
			return done, err
		}
		done += int(n)
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// span returns how many of the n bytes from pos lie in one data region or
// one hole, and whether that is a hole.
func (m *Image) span(pos, n int64) (int64, bool) {
	if m.data == nil {
		return n, false
	}
	i := sort.Search(len(m.data), func(i int) bool { return m.data[i].Offset+m.data[i].Length > pos })
	if i == len(m.data) {
		return n, true
	}
	if d := m.data[i]; d.Offset <= pos {
		return min(n, d.Offset+d.Length-pos), false
	} else {
		return min(n, d.Offset-pos), true
	}
}

func (m *Image) pread(p []byte, off int64) error {
	done, err := fdio.ReadAt(m.fd, p, off)
	m.read.Add(int64(done))
	switch {
	case err == io.EOF:
		return fmt.Errorf("image shrank: read at %d: %w", off+int64(done), io.ErrUnexpectedEOF)
	case err != nil:
		return fmt.Errorf("pread at %d: %w", off+int64(done), err)
	}
	return nil
}

// dataRegions lists the data regions of the first size bytes of fd, or
// returns nil when the file system cannot report holes.
func dataRegions(fd int, size int64) ([]chunker.Extent, error) {
	out := []chunker.Extent{}
	for pos := int64(0); pos < size; {
		d, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole up to the end
		}
		if err != nil {
			return nil, nil // no hole support: read everything
		}
		if d >= size {
			break
		}
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil || h <= d {
			return nil, nil
		}
		h = min(h, size)
		out = append(out, chunker.Extent{Offset: d, Length: h - d})
		pos = h
	}
	return out, nil
}
