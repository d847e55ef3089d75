package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// On-disk format of a volume file (little-endian):
//
//	header  16 bytes: magic "CAIRNVT\x00", version u32 (1), reserved u32 (0)
//	entry*  type u8 (1 record, 2 filemark), length u32, crc u32, data
//
// crc is CRC-32C over the type byte, the four length bytes and the data. A
// filemark has length 0. The end of data is the end of the last valid
// entry: an entry that is cut short, has an unknown type or an impossible
// length ends the volume there, and so does a bad CRC in an entry after the
// last filemark (the part a crash can tear, since filemarks are fsynced).
// Writing at a position truncates the file there first.
const (
	fileMagic     = "CAIRNVT\x00"
	fileVersion   = 1
	fileHeaderLen = 16
	entryHeadLen  = 9

	typeRecord   = 1
	typeFilemark = 2

	// maxScanRecord bounds the length field accepted when scanning, so a
	// garbage length from a torn write cannot make us trust a huge entry.
	maxScanRecord = 1 << 30
	// tailVerifyBytes bounds how much unsynced tail data Open re-reads to
	// find a torn record; older entries are verified when read.
	tailVerifyBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entry is one record or filemark as found in the file.
type entry struct {
	off int64  // offset of the entry header
	n   uint32 // data length
	crc uint32
	fm  bool
}

// end returns the offset just past the entry.
func (e entry) end() int64 { return e.off + entryHeadLen + int64(e.n) }

// entryCRC computes the CRC of an entry from its header fields and data.
func entryCRC(typ byte, n uint32, data []byte) uint32 {
	var h [5]byte
	h[0] = typ
	binary.LittleEndian.PutUint32(h[1:], n)
	return crc32.Update(crc32.Update(0, castagnoli, h[:]), castagnoli, data)
}

// appendEntry appends the encoded entry to dst.
func appendEntry(dst []byte, typ byte, data []byte) []byte {
	n := uint32(len(data))
	dst = append(dst, typ)
	dst = binary.LittleEndian.AppendUint32(dst, n)
	dst = binary.LittleEndian.AppendUint32(dst, entryCRC(typ, n, data))
	return append(dst, data...)
}

func fileHeader() []byte {
	h := make([]byte, fileHeaderLen)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint32(h[8:], fileVersion)
	return h
}

// scanVolume reads the entry headers of f and returns the valid entries.
func scanVolume(f *os.File) ([]entry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat volume: %w", err)
	}
	size := st.Size()
	var hdr [entryHeadLen]byte
	if size < fileHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotVolume, size)
	}
	if _, err := f.ReadAt(hdr[:8], 0); err != nil {
		return nil, fmt.Errorf("read volume header: %w", err)
	}
	if string(hdr[:8]) != fileMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrNotVolume)
	}
	var ver [4]byte
	if _, err := f.ReadAt(ver[:], 8); err != nil {
		return nil, fmt.Errorf("read volume header: %w", err)
	}
	if v := binary.LittleEndian.Uint32(ver[:]); v != fileVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrNotVolume, v)
	}
	var entries []entry
	off := int64(fileHeaderLen)
	for off+entryHeadLen <= size {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("read entry at %d: %w", off, err)
		}
		e := entry{off: off, n: binary.LittleEndian.Uint32(hdr[1:]), crc: binary.LittleEndian.Uint32(hdr[5:])}
		switch typ := hdr[0]; {
		case typ == typeFilemark && e.n == 0:
			if entryCRC(typeFilemark, 0, nil) != e.crc {
				return entries, nil // torn filemark: end of data
			}
			e.fm = true
		case typ == typeRecord && e.n > 0 && e.n <= maxScanRecord:
		default:
			return entries, nil // garbage: end of data
		}
		if e.end() > size {
			return entries, nil // cut short: end of data
		}
		entries = append(entries, e)
		off = e.end()
	}
	return verifyTail(f, entries)
}

// verifyTail drops torn records at the end: those after the last filemark
// (at most tailVerifyBytes of them) are read and checked, and the volume
// ends before the first bad one.
func verifyTail(f *os.File, entries []entry) ([]entry, error) {
	first := len(entries)
	var bytes int64
	for first > 0 && !entries[first-1].fm && bytes < tailVerifyBytes {
		first--
		bytes += int64(entries[first].n)
	}
	buf := make([]byte, 0, 64<<10)
	for i := first; i < len(entries); i++ {
		e := entries[i]
		if cap(buf) < int(e.n) {
			buf = make([]byte, e.n)
		}
		data := buf[:e.n]
		if _, err := f.ReadAt(data, e.off+entryHeadLen); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read record at %d: %w", e.off, err)
		}
		if entryCRC(typeRecord, e.n, data) != e.crc {
			return entries[:i], nil
		}
	}
	return entries, nil
}
