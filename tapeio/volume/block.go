package volume

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Block header, 64 bytes, little-endian:
//
//	 0  4  magic "CRNB"
//	 4  1  format version (1)
//	 5  1  kind
//	 6  2  flags
//	 8 16  volume id
//	24  4  volume sequence number in the set, from 1
//	28  4  tape file number on the volume (label = 0)
//	32  8  block number on the volume (label = 0; filemarks not counted)
//	40  4  set file number, from 0 (0xFFFFFFFF for label and trailers)
//	44  4  payload length
//	48  8  data offset: where this block's data starts in the logical file
//	56  4  reserved, zero
//	60  4  CRC-32C of bytes 0..59 followed by the payload
//
// The payload follows the header; the rest of the block is zero padding,
// not covered by the CRC. The first block of every fragment (a file's part
// on one volume) starts its payload with a descriptor: name length u16,
// then the name. The data offset counts data bytes only.
const (
	HeaderSize = 64
	// DefaultBlockSize is the block size unless WriterOptions say otherwise.
	DefaultBlockSize = 256 << 10
	// MinBlockSize and MaxBlockSize bound the block size; it must also be a
	// multiple of 1 KiB.
	MinBlockSize = 4 << 10
	MaxBlockSize = 16 << 20
	// MaxNameLen bounds a file name, so a descriptor always fits a block.
	MaxNameLen = 1024

	blockMagic    = "CRNB"
	formatVersion = 1
	noSetFile     = 0xFFFFFFFF
	crcOffset     = 60
)

// Flags of a block.
type Flags uint16

// Block flags. A fragment starts with First (the file starts here) or
// Continued (the file started on an earlier volume); Last marks the file's
// final block, Aborted a file the writer gave up on.
const (
	FlagFirst     Flags = 1 << 0
	FlagLast      Flags = 1 << 1
	FlagContinued Flags = 1 << 2
	FlagAborted   Flags = 1 << 3
	knownFlags          = FlagFirst | FlagLast | FlagContinued | FlagAborted
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is a decoded block header.
type header struct {
	kind       Kind
	flags      Flags
	volumeID   ID
	volumeSeq  uint32
	tapeFile   uint32
	block      uint64
	setFile    uint32
	payloadLen uint32
	dataOffset uint64
}

// startsFragment reports whether the payload begins with a descriptor.
func (h header) startsFragment() bool { return h.flags&(FlagFirst|FlagContinued) != 0 }

// seal writes h into b[:HeaderSize], which must be followed by the
// h.payloadLen payload bytes, zeroes the padding and sets the CRC.
func seal(b []byte, h header) {
	copy(b[0:4], blockMagic)
	b[4] = formatVersion
	b[5] = byte(h.kind)
	le := binary.LittleEndian
	le.PutUint16(b[6:], uint16(h.flags))
	copy(b[8:24], h.volumeID[:])
	le.PutUint32(b[24:], h.volumeSeq)
	le.PutUint32(b[28:], h.tapeFile)
	le.PutUint64(b[32:], h.block)
	le.PutUint32(b[40:], h.setFile)
	le.PutUint32(b[44:], h.payloadLen)
	le.PutUint64(b[48:], h.dataOffset)
	le.PutUint32(b[56:], 0)
	end := HeaderSize + int(h.payloadLen)
	clear(b[end:])
	crc := crc32.Update(crc32.Checksum(b[:crcOffset], castagnoli), castagnoli, b[HeaderSize:end])
	le.PutUint32(b[crcOffset:], crc)
}

// unseal decodes and verifies the block in b, returning its header and
// payload. It never trusts a length before checking it against b.
func unseal(b []byte) (header, []byte, error) {
	var h header
	if len(b) < HeaderSize {
		return h, nil, fmt.Errorf("%w: %d-byte record", ErrBadBlock, len(b))
	}
	if string(b[0:4]) != blockMagic {
		return h, nil, fmt.Errorf("%w: bad magic %q", ErrBadBlock, b[0:4])
	}
	if b[4] != formatVersion {
		return h, nil, fmt.Errorf("%w: format version %d", ErrBadBlock, b[4])
	}
	le := binary.LittleEndian
	h.payloadLen = le.Uint32(b[44:])
	if int64(h.payloadLen) > int64(len(b)-HeaderSize) {
		return h, nil, fmt.Errorf("%w: payload length %d in a %d-byte block", ErrBadBlock, h.payloadLen, len(b))
	}
	payload := b[HeaderSize : HeaderSize+int(h.payloadLen)]
	crc := crc32.Update(crc32.Checksum(b[:crcOffset], castagnoli), castagnoli, payload)
	if got := le.Uint32(b[crcOffset:]); got != crc {
		return h, nil, fmt.Errorf("%w: stored %08x, computed %08x", ErrChecksum, got, crc)
	}
	h.kind = Kind(b[5])
	h.flags = Flags(le.Uint16(b[6:]))
	copy(h.volumeID[:], b[8:24])
	h.volumeSeq = le.Uint32(b[24:])
	h.tapeFile = le.Uint32(b[28:])
	h.block = le.Uint64(b[32:])
	h.setFile = le.Uint32(b[40:])
	h.dataOffset = le.Uint64(b[48:])
	if le.Uint32(b[56:]) != 0 || h.flags&^knownFlags != 0 {
		return h, nil, fmt.Errorf("%w: reserved bits set (flags %#x)", ErrBadBlock, h.flags)
	}
	return h, payload, nil
}

// putDescriptor writes a fragment descriptor at the start of dst and
// returns its length.
func putDescriptor(dst []byte, name string) int {
	binary.LittleEndian.PutUint16(dst, uint16(len(name)))
	return 2 + copy(dst[2:], name)
}

// descriptorLen is the size of the descriptor for name.
func descriptorLen(name string) int { return 2 + len(name) }

// parseDescriptor splits a fragment's first payload into name and data.
func parseDescriptor(p []byte) (name string, data []byte, err error) {
	if len(p) < 2 {
		return "", nil, fmt.Errorf("%w: fragment descriptor missing", ErrBadBlock)
	}
	n := int(binary.LittleEndian.Uint16(p))
	if n > MaxNameLen || 2+n > len(p) {
		return "", nil, fmt.Errorf("%w: name length %d", ErrBadBlock, n)
	}
	return string(p[2 : 2+n]), p[2+n:], nil
}

// checkBlockSize validates a block size.
func checkBlockSize(n int) error {
	if n < MinBlockSize || n > MaxBlockSize || n%1024 != 0 {
		return fmt.Errorf("volume: block size %d: want a multiple of 1 KiB from %d to %d", n, MinBlockSize, MaxBlockSize)
	}
	return nil
}
