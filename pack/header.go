package pack

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"cairn/internal/crypto"
)

// headerAuthSize is the part of a blob header covered by its CRC and
// authenticated as the AEAD's additional data: everything but the CRC.
const headerAuthSize = BlobHeaderSize - 4

// Blob header flags.
const (
	flagZstd   = 1 << 0
	knownFlags = flagZstd
)

// castagnoli is read-only after initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blobHeader is the decoded plaintext header in front of each sealed blob.
type blobHeader struct {
	typ       BlobType
	flags     uint8
	id        crypto.ID
	sealedLen uint32
	rawLen    uint32
}

// compressed reports whether the payload is zstd-compressed.
func (h *blobHeader) compressed() bool { return h.flags&flagZstd != 0 }

// length is the blob's length in the pack: header plus sealed payload.
func (h *blobHeader) length() uint64 { return BlobHeaderSize + uint64(h.sealedLen) }

// marshal writes the header, including its CRC, into b.
func (h *blobHeader) marshal(b *[BlobHeaderSize]byte) {
	copy(b[0:2], blobMagic)
	b[2] = byte(h.typ)
	b[3] = h.flags
	copy(b[4:36], h.id[:])
	binary.LittleEndian.PutUint32(b[36:40], h.sealedLen)
	binary.LittleEndian.PutUint32(b[40:44], h.rawLen)
	binary.LittleEndian.PutUint32(b[44:48], crc32.Checksum(b[:headerAuthSize], castagnoli))
}

// parseBlobHeader decodes and checks the first BlobHeaderSize bytes of b.
// Errors wrap ErrFormat and carry no position: callers add it.
func parseBlobHeader(b []byte) (blobHeader, error) {
	var h blobHeader
	if len(b) < BlobHeaderSize {
		return h, fmt.Errorf("blob header of %d bytes, want %d: %w", len(b), BlobHeaderSize, ErrFormat)
	}
	if string(b[0:2]) != blobMagic {
		return h, fmt.Errorf("bad blob header magic %q: %w", b[0:2], ErrFormat)
	}
	if got, want := binary.LittleEndian.Uint32(b[44:48]), crc32.Checksum(b[:headerAuthSize], castagnoli); got != want {
		return h, fmt.Errorf("blob header checksum %08x, computed %08x: %w", got, want, ErrFormat)
	}
	h.typ = BlobType(b[2])
	h.flags = b[3]
	copy(h.id[:], b[4:36])
	h.sealedLen = binary.LittleEndian.Uint32(b[36:40])
	h.rawLen = binary.LittleEndian.Uint32(b[40:44])
	if err := checkFields(h.typ, h.flags, uint64(h.sealedLen), h.rawLen); err != nil {
		return h, fmt.Errorf("blob header: %w", err)
	}
	return h, nil
}

// checkFields checks what a blob header or trailer entry says about a blob
// against the format's invariants: a known type and flags, room for the
// AEAD overhead, and for an uncompressed payload the raw length it implies.
func checkFields(t BlobType, flags uint8, sealedLen uint64, rawLen uint32) error {
	if !t.valid() {
		return fmt.Errorf("unknown blob type %d: %w", t, ErrFormat)
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("unknown blob flags %#02x: %w", flags, ErrFormat)
	}
	if sealedLen < crypto.Overhead {
		return fmt.Errorf("sealed length %d is shorter than the AEAD overhead %d: %w", sealedLen, crypto.Overhead, ErrFormat)
	}
	if flags&flagZstd == 0 && sealedLen != uint64(rawLen)+crypto.Overhead {
		return fmt.Errorf("uncompressed blob has sealed length %d for raw length %d: %w", sealedLen, rawLen, ErrFormat)
	}
	return nil
}

// trailerEntry is one blob as the trailer lists it.
type trailerEntry struct {
	Blob
	flags uint8
}

// encodeTrailer returns the trailer's plaintext: a count, then one entry
// per blob in file order.
func encodeTrailer(entries []trailerEntry) []byte {
	buf := make([]byte, 0, 4+entrySize*len(entries))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(entries)))
	for _, e := range entries {
		buf = append(buf, byte(e.Type), e.flags)
		buf = append(buf, e.ID[:]...)
		buf = binary.LittleEndian.AppendUint32(buf, e.Offset)
		buf = binary.LittleEndian.AppendUint32(buf, e.Length)
		buf = binary.LittleEndian.AppendUint32(buf, e.RawLength)
	}
	return buf
}

// parseTrailer decodes an opened trailer of a pack whose trailer starts at
// trailerStart. The entries must be valid and tile the bytes between the
// pack header and the trailer exactly, in file order: a writer bug that
// lost or overlapped a blob shows here rather than at restore time.
func parseTrailer(plain []byte, trailerStart int64) ([]Blob, error) {
	if len(plain) < 4 {
		return nil, fmt.Errorf("pack trailer of %d bytes: %w", len(plain), ErrFormat)
	}
	count := binary.LittleEndian.Uint32(plain)
	if uint64(len(plain)) != 4+uint64(count)*entrySize {
		return nil, fmt.Errorf("pack trailer of %d bytes cannot hold %d entries: %w", len(plain), count, ErrFormat)
	}
	blobs := make([]Blob, count)
	next := int64(HeaderSize)
	for i := range blobs {
		e := plain[4+i*entrySize : 4+(i+1)*entrySize]
		b := Blob{
			Type:      BlobType(e[0]),
			Offset:    binary.LittleEndian.Uint32(e[34:38]),
			Length:    binary.LittleEndian.Uint32(e[38:42]),
			RawLength: binary.LittleEndian.Uint32(e[42:46]),
		}
		copy(b.ID[:], e[2:34])
		if b.Length < BlobOverhead {
			return nil, fmt.Errorf("pack trailer entry %d (blob %s): length %d: %w", i, b.ID.Short(), b.Length, ErrFormat)
		}
		if err := checkFields(b.Type, e[1], uint64(b.Length)-BlobHeaderSize, b.RawLength); err != nil {
			return nil, fmt.Errorf("pack trailer entry %d (blob %s): %w", i, b.ID.Short(), err)
		}
		if int64(b.Offset) != next {
			return nil, fmt.Errorf("pack trailer entry %d (blob %s): offset %d, want %d: %w", i, b.ID.Short(), b.Offset, next, ErrFormat)
		}
		next += int64(b.Length)
		blobs[i] = b
	}
	if next != trailerStart {
		return nil, fmt.Errorf("pack trailer: blobs end at %d but the trailer starts at %d: %w", next, trailerStart, ErrFormat)
	}
	return blobs, nil
}
