package fs

import (
	"golang.org/x/sys/unix"
)

// minHole is the shortest hole recorded as a hole. A shorter one, between
// or beside data, is read as zeros: reading it costs no disk I/O, while
// recording it would cut the chunking of the data around it into small
// pieces that deduplicate worse (ext4 reports 4 KiB holes).
const minHole = 64 << 10

// regions calls fn for the data regions and holes of the first size bytes
// of the open file fd, in order, found with SEEK_DATA/SEEK_HOLE. A file
// system without hole reporting yields one data region.
func regions(fd int, size int64, fn func(off, length int64, hole bool) error) error {
	pend := int64(-1) // start of the data region not yet passed to fn
	for pos := int64(0); pos < size; {
		d := seekData(fd, pos, size)
		if d > pos {
			if d-pos >= minHole {
				if pend >= 0 {
					if err := fn(pend, pos-pend, false); err != nil {
						return err
					}
					pend = -1
				}
				if err := fn(pos, d-pos, true); err != nil {
					return err
				}
			} else if pend < 0 {
				pend = pos
			}
			pos = d
			if pos >= size {
				break
			}
		}
		if pend < 0 {
			pend = pos
		}
		pos = seekHole(fd, pos, size)
	}
	if pend >= 0 {
		return fn(pend, size-pend, false)
	}
	return nil
}

// maybeSparse reports whether a file of size bytes with stat st can have a
// hole regions would record: none fits in a file shorter than minHole, and
// a file with as many allocated blocks as its size has no hole at all (at
// worst, blocks of metadata counted in st_blocks hide a hole, which is then
// read as zeros: same content, stored as a zero chunk).
func maybeSparse(st *unix.Stat_t, size int64) bool {
	return size >= minHole && st.Blocks*512 < size
}

// seekData returns the first data offset at or after pos, clamped to size;
// size when there is none; pos when the file system cannot tell.
func seekData(fd int, pos, size int64) int64 {
	off, err := unix.Seek(fd, pos, unix.SEEK_DATA)
	switch {
	case err == unix.ENXIO:
		return size
	case err != nil || off < pos:
		return pos
	case off > size:
		return size
	}
	return off
}

// seekHole returns the end of the data starting at pos, clamped to size;
// size when the file system cannot tell.
func seekHole(fd int, pos, size int64) int64 {
	off, err := unix.Seek(fd, pos, unix.SEEK_HOLE)
	if err != nil || off <= pos || off > size {
		return size
	}
	return off
}
