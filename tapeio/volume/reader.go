package volume

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cairn/tapeio"
)

// labelProbeSize is the first buffer tried for the label record: enough for
// the default block size without asking st for a 16 MiB buffer.
const labelProbeSize = 1 << 20

// maxDriveErrors is how many read errors in a row end a volume.
const maxDriveErrors = 8

// readLabel reads the label at the beginning of the tape (the drive must be
// rewound, in variable block mode).
func readLabel(d tapeio.Drive) (Label, error) {
	buf := make([]byte, labelProbeSize)
	n, err := d.ReadRecord(buf)
	if errors.Is(err, tapeio.ErrBufferTooSmall) {
		if err := d.Rewind(); err != nil {
			return Label{}, err
		}
		buf = make([]byte, MaxBlockSize)
		n, err = d.ReadRecord(buf)
	}
	if err != nil {
		return Label{}, fmt.Errorf("%w: reading first record: %w", ErrNotLabeled, err)
	}
	if n < 0 || n > len(buf) {
		return Label{}, fmt.Errorf("%w: drive returned %d bytes for a %d-byte buffer", ErrNotLabeled, n, len(buf))
	}
	h, payload, err := unseal(buf[:n])
	if err != nil {
		return Label{}, fmt.Errorf("%w: %w", ErrNotLabeled, err)
	}
	if h.kind != KindLabel || h.tapeFile != 0 || h.block != 0 {
		return Label{}, fmt.Errorf("%w: first block is %v, tape file %d, block %d", ErrNotLabeled, h.kind, h.tapeFile, h.block)
	}
	l, err := decodeLabel(payload)
	if err != nil {
		return Label{}, err
	}
	if l.BlockSize != n || l.VolumeID != h.volumeID || l.Seq != h.volumeSeq {
		return Label{}, fmt.Errorf("%w: label block of %d bytes disagrees with its header", ErrNotLabeled, n)
	}
	return l, nil
}

// VolumeReader reads the tape files of one volume in order. It is not safe
// for concurrent use.
type VolumeReader struct {
	d        tapeio.Drive
	label    Label
	buf      []byte
	block    uint64 // number of the next record
	tapeFile uint32 // tape file of the next record
	inFile   bool   // a tape file has been entered and not left
	done     bool   // end of data reached
	driveErr int    // consecutive read errors from the drive
	cur      *Fragment
	eov      *EndOfVolume
	eos      *EndOfSet
}

// OpenVolume rewinds d and reads its label. The VolumeReader does not own
// d: the caller closes it.
func OpenVolume(ctx context.Context, d tapeio.Drive) (*VolumeReader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.SetBlockSize(0); err != nil {
		return nil, err
	}
	if err := d.Rewind(); err != nil {
		return nil, err
	}
	l, err := readLabel(d)
	if err != nil {
		return nil, err
	}
	v := &VolumeReader{d: d, label: l, buf: make([]byte, l.BlockSize), block: 1, inFile: true}
	return v, nil
}

// Label returns the volume's label.
func (v *VolumeReader) Label() Label { return v.label }

// EndOfVolume returns the end-of-volume trailer, once Next has passed it.
func (v *VolumeReader) EndOfVolume() (EndOfVolume, bool) {
	if v.eov == nil {
		return EndOfVolume{}, false
	}
	return *v.eov, true
}

// EndOfSet returns the end-of-set trailer, once Next has passed it.
func (v *VolumeReader) EndOfSet() (EndOfSet, bool) {
	if v.eos == nil {
		return EndOfSet{}, false
	}
	return *v.eos, true
}

func (v *VolumeReader) blockErr(block uint64, err error) *BlockError {
	return &BlockError{VolumeSeq: v.label.Seq, VolumeID: v.label.VolumeID, TapeFile: v.tapeFile, Block: block, Err: err}
}

// readBlock reads the next record as a block of this volume. fm and eod
// report a filemark or the end of data instead; err is a *BlockError.
func (v *VolumeReader) readBlock() (h header, payload []byte, block uint64, fm, eod bool, err error) {
	n, rerr := v.d.ReadRecord(v.buf)
	switch {
	case errors.Is(rerr, tapeio.ErrFilemark):
		v.tapeFile++
		v.inFile = false
		return h, nil, 0, true, false, nil
	case errors.Is(rerr, tapeio.ErrEndOfData):
		v.done, v.inFile = true, false
		return h, nil, 0, false, true, nil
	}
	block = v.block
	v.block++
	v.inFile = true
	if rerr != nil {
		// A drive that fails without moving (st at a blank spot) would
		// keep us here forever: give up on the volume after a few.
		if v.driveErr++; v.driveErr >= maxDriveErrors {
			v.done, v.inFile = true, false
			rerr = fmt.Errorf("%w (giving up on the volume after %d read errors in a row)", rerr, v.driveErr)
		}
		return h, nil, block, false, false, v.blockErr(block, rerr)
	}
	v.driveErr = 0
	if n != len(v.buf) { // also guards a driver that returns more than asked
		return h, nil, block, false, false, v.blockErr(block, fmt.Errorf("%w: %d-byte record, block size %d", ErrBadBlock, n, len(v.buf)))
	}
	h, payload, err = unseal(v.buf[:n])
	if err != nil {
		return h, nil, block, false, false, v.blockErr(block, err)
	}
	if h.volumeID != v.label.VolumeID || h.volumeSeq != v.label.Seq || h.tapeFile != v.tapeFile || h.block != block {
		return h, nil, block, false, false, v.blockErr(block, fmt.Errorf("%w: header says volume %d (%s) tape file %d block %d",
			ErrSequence, h.volumeSeq, h.volumeID, h.tapeFile, h.block))
	}
	return h, payload, block, false, false, nil
}

// skipFile reads to the end of the current tape file. Reading rather than
// spacing keeps the block count exact, which damage reports rely on.
func (v *VolumeReader) skipFile() {
	for v.inFile && !v.done {
		if _, _, _, fm, _, _ := v.readBlock(); fm {
			return
		}
	}
}

// Next moves to the next tape file that holds a fragment of a logical file
// and returns it, leaving whatever was unread of the previous one. Trailers
// are read on the way (see EndOfVolume, EndOfSet). It returns io.EOF at the
// end of the volume's data and a *BlockError for a fragment whose first
// block is damaged; calling Next again then goes on with the next file.
func (v *VolumeReader) Next(ctx context.Context) (*Fragment, error) {
	if v.cur != nil {
		v.cur.abandoned = true
		v.cur = nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v.skipFile()
		if v.done {
			return nil, io.EOF
		}
		h, payload, block, fm, eod, err := v.readBlock()
		switch {
		case eod:
			return nil, io.EOF
		case fm:
			continue // an empty tape file: not written by cairn, skip it
		case err != nil:
			return nil, err
		}
		switch h.kind {
		case KindEndOfVolume:
			if eov, err := decodeEndOfVolume(payload); err == nil {
				v.eov = &eov
			}
			continue
		case KindEndOfSet:
			if eos, err := decodeEndOfSet(payload); err == nil {
				v.eos = &eos
			}
			continue
		}
		if !h.kind.isData() || !h.startsFragment() {
			return nil, v.blockErr(block, fmt.Errorf("%w: tape file starts with a %v block, flags %#x", ErrSequence, h.kind, h.flags))
		}
		name, data, err := parseDescriptor(payload)
		if err != nil {
			return nil, v.blockErr(block, err)
		}
		f := &Fragment{
			Kind: h.kind, Name: name, SetFile: h.setFile, Flags: h.flags,
			DataOffset: int64(h.dataOffset), VolumeSeq: v.label.Seq, TapeFile: h.tapeFile, FirstBlock: block,
			v: v, data: data, next: int64(h.dataOffset) + int64(len(data)),
		}
		v.cur = f
		return f, nil
	}
}
