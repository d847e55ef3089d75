package volume

import (
	"errors"
	"fmt"
)

// Sentinel errors, tested with errors.Is.
var (
	// ErrChecksum: a block's CRC-32C does not match its contents.
	ErrChecksum = errors.New("volume: block checksum mismatch")
	// ErrBadBlock: a record is not a valid block (magic, version, length,
	// reserved fields, or a record of the wrong size).
	ErrBadBlock = errors.New("volume: not a valid block")
	// ErrSequence: an intact block is not the one expected here (volume,
	// tape file, block number, file or data offset out of sequence).
	ErrSequence = errors.New("volume: block out of sequence")
	// ErrNotLabeled: the medium does not start with a cairn volume label.
	ErrNotLabeled = errors.New("volume: no cairn volume label")
	// ErrWrongVolume: a volume of another set, or another sequence number
	// than the one asked for, was loaded.
	ErrWrongVolume = errors.New("volume: wrong volume")
	// ErrSameSet: the Writer refused to overwrite a volume that belongs to
	// the set it is writing.
	ErrSameSet = errors.New("volume: volume already belongs to this set")
	// ErrIncomplete is wrapped by IncompleteError.
	ErrIncomplete = errors.New("volume: file incomplete")
	// ErrAborted: the writer gave up on the file (its source failed or was
	// cancelled) and marked it so; the data before it is on tape.
	ErrAborted = errors.New("volume: file was aborted when written")
	// ErrVolumeMissing is returned by an OpenVolume callback for a volume
	// that is not available: the SetReader goes on with the next one.
	ErrVolumeMissing = errors.New("volume: volume missing")
	// ErrNoMoreVolumes is returned by an OpenVolume callback when there is
	// no volume with this or a higher sequence number.
	ErrNoMoreVolumes = errors.New("volume: no more volumes")
	// ErrWriterFailed is wrapped by every call on a Writer after a drive
	// error left its volume in an unknown state.
	ErrWriterFailed = errors.New("volume: writer failed earlier")
)

// BlockError reports a damaged or unexpected block. Block is the block
// number on the volume (the record's index from the beginning of the tape,
// filemarks not counted, the label being block 0).
type BlockError struct {
	VolumeSeq uint32
	VolumeID  ID
	TapeFile  uint32
	Block     uint64
	Err       error
}

// Error implements error.
func (e *BlockError) Error() string {
	return fmt.Sprintf("volume %d (%s) tape file %d block %d: %v", e.VolumeSeq, e.VolumeID, e.TapeFile, e.Block, e.Err)
}

// Unwrap returns the cause (ErrChecksum, ErrBadBlock, ErrSequence or a
// drive error).
func (e *BlockError) Unwrap() error { return e.Err }

// IncompleteError reports a logical file of which only part could be read:
// its start, middle or end is on a missing volume, or a block of it was
// damaged.
type IncompleteError struct {
	SetFile uint32
	Kind    Kind
	Name    string
	// Offset is where the gap starts in the file's data (for a fragment
	// whose start was never seen: where the surviving fragment starts).
	Offset int64
	// MissingVolume is the volume that was needed, 0 if none was missing.
	MissingVolume uint32
	Err           error
}

// Error implements error.
func (e *IncompleteError) Error() string {
	s := fmt.Sprintf("set file %d (%s %q) incomplete at offset %d", e.SetFile, e.Kind, e.Name, e.Offset)
	if e.MissingVolume != 0 {
		s += fmt.Sprintf(": volume %d missing", e.MissingVolume)
	}
	if e.Err != nil && (e.MissingVolume == 0 || !errors.Is(e.Err, ErrVolumeMissing)) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrIncomplete) true.
func (e *IncompleteError) Is(target error) bool { return target == ErrIncomplete }

// Unwrap returns the cause, if any.
func (e *IncompleteError) Unwrap() error { return e.Err }
