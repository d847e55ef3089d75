package scan

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"cairn/tapeio/volume"
)

// castagnoli is read-only after initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// block is a decoded block (docs/tape.md, "Block header").
type block struct {
	kind       volume.Kind
	flags      volume.Flags
	volumeID   volume.ID
	volumeSeq  uint32
	tapeFile   uint32
	block      uint64
	setFile    uint32
	dataOffset int64
	name       string // from the descriptor, if the block starts a fragment
	hasName    bool
	data       []byte // file data (descriptor removed)
}

const (
	blockMagic   = "CRNB"
	blockVersion = 1
	knownFlags   = volume.FlagFirst | volume.FlagLast | volume.FlagContinued | volume.FlagAborted
)

// decodeBlock checks and decodes one record. Errors wrap volume.ErrBadBlock
// or volume.ErrChecksum, like the volume package's reader.
func decodeBlock(b []byte) (block, error) {
	var k block
	if len(b) < volume.HeaderSize || string(b[0:4]) != blockMagic || b[4] != blockVersion {
		return k, fmt.Errorf("%w: no block header", volume.ErrBadBlock)
	}
	le := binary.LittleEndian
	plen := le.Uint32(b[44:])
	if int64(plen) > int64(len(b)-volume.HeaderSize) {
		return k, fmt.Errorf("%w: payload length %d in a %d-byte block", volume.ErrBadBlock, plen, len(b))
	}
	payload := b[volume.HeaderSize : volume.HeaderSize+int(plen)]
	crc := crc32.Update(crc32.Checksum(b[:60], castagnoli), castagnoli, payload)
	if got := le.Uint32(b[60:]); got != crc {
		return k, fmt.Errorf("%w: stored %08x, computed %08x", volume.ErrChecksum, got, crc)
	}
	k.kind = volume.Kind(b[5])
	k.flags = volume.Flags(le.Uint16(b[6:]))
	copy(k.volumeID[:], b[8:24])
	k.volumeSeq = le.Uint32(b[24:])
	k.tapeFile = le.Uint32(b[28:])
	k.block = le.Uint64(b[32:])
	k.setFile = le.Uint32(b[40:])
	k.dataOffset = int64(le.Uint64(b[48:]))
	if le.Uint32(b[56:]) != 0 || k.flags&^knownFlags != 0 || k.dataOffset < 0 {
		return k, fmt.Errorf("%w: reserved bits set", volume.ErrBadBlock)
	}
	k.data = payload
	if k.flags&(volume.FlagFirst|volume.FlagContinued) != 0 && k.kind >= volume.KindConfig {
		if len(payload) < 2 {
			return k, fmt.Errorf("%w: descriptor missing", volume.ErrBadBlock)
		}
		n := int(le.Uint16(payload))
		if n > volume.MaxNameLen || 2+n > len(payload) {
			return k, fmt.Errorf("%w: name length %d", volume.ErrBadBlock, n)
		}
		k.name, k.hasName, k.data = string(payload[2:2+n]), true, payload[2+n:]
	}
	return k, nil
}

// endOfSet decodes an end-of-set trailer's payload: files u32, volumes u32,
// data bytes u64.
func endOfSet(p []byte) (files, volumes uint32, ok bool) {
	if len(p) < 16 {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]), true
}
