package volume

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Label identifies a volume. It is the payload of the volume's first block
// (kind KindLabel, tape file 0, block 0), followed by a filemark:
//
//	 0  8  magic "CAIRNVOL"
//	 8  2  format version (1)
//	10  2  reserved, zero
//	12  4  block size
//	16 16  volume id
//	32 16  set id
//	48  4  volume sequence number in the set, from 1
//	52  4  reserved, zero
//	56  8  creation time, Unix nanoseconds
//	64  2+n host name (length-prefixed)
//	..  2+n writer, e.g. "cairn" (length-prefixed)
type Label struct {
	BlockSize int
	VolumeID  ID
	SetID     ID
	Seq       uint32
	Created   time.Time
	Host      string
	Writer    string
}

const labelMagic = "CAIRNVOL"

func (l Label) encode() []byte {
	b := make([]byte, 64, 64+4+len(l.Host)+len(l.Writer))
	copy(b, labelMagic)
	le := binary.LittleEndian
	le.PutUint16(b[8:], formatVersion)
	le.PutUint32(b[12:], uint32(l.BlockSize))
	copy(b[16:32], l.VolumeID[:])
	copy(b[32:48], l.SetID[:])
	le.PutUint32(b[48:], l.Seq)
	le.PutUint64(b[56:], uint64(l.Created.UnixNano()))
	b = le.AppendUint16(b, uint16(len(l.Host)))
	b = append(b, l.Host...)
	b = le.AppendUint16(b, uint16(len(l.Writer)))
	return append(b, l.Writer...)
}

func decodeLabel(p []byte) (Label, error) {
	var l Label
	if len(p) < 68 || string(p[:8]) != labelMagic {
		return l, fmt.Errorf("%w: bad label payload", ErrNotLabeled)
	}
	le := binary.LittleEndian
	if v := le.Uint16(p[8:]); v != formatVersion {
		return l, fmt.Errorf("%w: label format version %d", ErrNotLabeled, v)
	}
	l.BlockSize = int(le.Uint32(p[12:]))
	copy(l.VolumeID[:], p[16:32])
	copy(l.SetID[:], p[32:48])
	l.Seq = le.Uint32(p[48:])
	l.Created = time.Unix(0, int64(le.Uint64(p[56:]))).UTC()
	rest := p[64:]
	var ok bool
	if l.Host, rest, ok = lpString(rest); !ok {
		return l, fmt.Errorf("%w: bad host field", ErrNotLabeled)
	}
	if l.Writer, _, ok = lpString(rest); !ok {
		return l, fmt.Errorf("%w: bad writer field", ErrNotLabeled)
	}
	if err := checkBlockSize(l.BlockSize); err != nil || l.Seq == 0 {
		return l, fmt.Errorf("%w: block size %d, sequence %d", ErrNotLabeled, l.BlockSize, l.Seq)
	}
	return l, nil
}

// lpString reads a u16-length-prefixed string.
func lpString(p []byte) (string, []byte, bool) {
	if len(p) < 2 {
		return "", nil, false
	}
	n := int(binary.LittleEndian.Uint16(p))
	if 2+n > len(p) {
		return "", nil, false
	}
	return string(p[2 : 2+n]), p[2+n:], true
}

// EndOfVolume is the payload of the trailer that closes a full volume:
//
//	0 4  sequence number of the next volume
//	4 4  set file continued there (0xFFFFFFFF: none)
//	8 8  data offset at which it continues
type EndOfVolume struct {
	NextSeq    uint32
	SetFile    uint32
	DataOffset uint64
}

func (e EndOfVolume) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, e.NextSeq)
	b = binary.LittleEndian.AppendUint32(b, e.SetFile)
	return binary.LittleEndian.AppendUint64(b, e.DataOffset)
}

func decodeEndOfVolume(p []byte) (EndOfVolume, error) {
	if len(p) < 16 {
		return EndOfVolume{}, fmt.Errorf("%w: end-of-volume payload of %d bytes", ErrBadBlock, len(p))
	}
	le := binary.LittleEndian
	return EndOfVolume{NextSeq: le.Uint32(p), SetFile: le.Uint32(p[4:]), DataOffset: le.Uint64(p[8:])}, nil
}

// EndOfSet is the payload of the trailer after the set's last file:
//
//	0 4  number of logical files in the set
//	4 4  number of volumes
//	8 8  total data bytes of all files
type EndOfSet struct {
	Files     uint32
	Volumes   uint32
	DataBytes uint64
}

func (e EndOfSet) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, e.Files)
	b = binary.LittleEndian.AppendUint32(b, e.Volumes)
	return binary.LittleEndian.AppendUint64(b, e.DataBytes)
}

func decodeEndOfSet(p []byte) (EndOfSet, error) {
	if len(p) < 16 {
		return EndOfSet{}, fmt.Errorf("%w: end-of-set payload of %d bytes", ErrBadBlock, len(p))
	}
	le := binary.LittleEndian
	return EndOfSet{Files: le.Uint32(p), Volumes: le.Uint32(p[4:]), DataBytes: le.Uint64(p[8:])}, nil
}
