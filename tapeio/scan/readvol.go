package scan

import (
	"context"
	"errors"
	"fmt"

	"cairn/tapeio"
	"cairn/tapeio/volume"
)

// maxDriveErrors is how many read errors in a row end a volume, as in the
// volume package: a drive that fails without moving would loop forever.
const maxDriveErrors = 8

// VolumeInfo describes one volume read.
type VolumeInfo struct {
	Medium    string       `json:"medium"`
	Label     volume.Label `json:"label"`
	Blocks    uint64       `json:"blocks"` // label included
	DataBytes int64        `json:"data_bytes"`
	// EndOfSet is set when the volume ends its set: the set's volume count.
	EndOfSet uint32 `json:"end_of_set_volumes,omitempty"`
}

// readVolume reads every block of the volume in d after its label, calling
// fn for each intact data block in tape order and damaged for each block
// that cannot be used; onLabel first, with the volume's label. It returns volume.ErrNotLabeled (wrapped) for a tape
// without a cairn label.
func readVolume(ctx context.Context, d tapeio.Drive, onLabel func(volume.Label), fn func(block) error, damaged func(*volume.BlockError)) (VolumeInfo, error) {
	v, err := volume.OpenVolume(ctx, d)
	if err != nil {
		return VolumeInfo{}, err
	}
	l := v.Label()
	onLabel(l)
	info := VolumeInfo{Label: l, Blocks: 1}
	buf := make([]byte, l.BlockSize)
	var tapeFile uint32
	driveErrs := 0
	bad := func(bn uint64, err error) {
		damaged(&volume.BlockError{VolumeSeq: l.Seq, VolumeID: l.VolumeID, TapeFile: tapeFile, Block: bn, Err: err})
	}
	for {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		n, rerr := d.ReadRecord(buf)
		switch {
		case errors.Is(rerr, tapeio.ErrFilemark):
			tapeFile++
			continue
		case errors.Is(rerr, tapeio.ErrEndOfData):
			return info, nil
		}
		bn := info.Blocks
		info.Blocks++
		if rerr != nil {
			bad(bn, rerr)
			if driveErrs++; driveErrs >= maxDriveErrors {
				return info, fmt.Errorf("volume %d: giving up after %d read errors in a row: %w", l.Seq, driveErrs, rerr)
			}
			continue
		}
		driveErrs = 0
		if n != len(buf) {
			bad(bn, fmt.Errorf("%w: %d-byte record, block size %d", volume.ErrBadBlock, n, len(buf)))
			continue
		}
		k, err := decodeBlock(buf[:n])
		if err != nil {
			bad(bn, err)
			continue
		}
		if k.volumeID != l.VolumeID || k.volumeSeq != l.Seq || k.tapeFile != tapeFile || k.block != bn {
			bad(bn, fmt.Errorf("%w: header says volume %d tape file %d block %d", volume.ErrSequence, k.volumeSeq, k.tapeFile, k.block))
			continue
		}
		switch {
		case k.kind == volume.KindEndOfSet:
			if _, vols, ok := endOfSet(k.data); ok {
				info.EndOfSet = vols
			}
		case k.kind >= volume.KindConfig:
			info.DataBytes += int64(len(k.data))
			if err := fn(k); err != nil {
				return info, err
			}
		}
	}
}
