package emulator

import (
	"fmt"
	"math"
)

// DefaultMaxRecordSize is the largest record a Drive accepts unless
// Options.MaxRecordSize says otherwise; it matches the usual st buffer limit.
const DefaultMaxRecordSize = 16 << 20

// Options configure a virtual drive. The zero value is an unlimited,
// writable, variable-block volume.
type Options struct {
	// Capacity is the size of the medium in bytes of volume file, entry
	// headers included (so it bounds the disk space used). 0 is unlimited:
	// then only a full file system ends the medium.
	Capacity int64
	// EarlyWarning is the size of the early-warning zone before Capacity.
	// 0 selects Capacity/16, at least 1 MiB, at most Capacity/2.
	EarlyWarning int64
	// BlockSize is the initial block size; 0 is variable block mode.
	BlockSize int
	// MaxRecordSize bounds a record; 0 is DefaultMaxRecordSize.
	MaxRecordSize int
	// ReadOnly opens the volume write-protected. A missing file is then
	// ErrNoMedium instead of a new blank volume.
	ReadOnly bool
	// Faults injects errors, for tests.
	Faults Faults
}

// Faults injects failures into one open Drive. Counters start at Open.
type Faults struct {
	// FailRead makes the FailRead-th ReadRecord call (counting from 1) fail
	// with ErrIO, as an unreadable record would: the record is skipped. If
	// that call meets a filemark or the end of data, nothing is injected.
	FailRead int
	// FailWrite makes the FailWrite-th WriteRecord call fail with ErrIO;
	// nothing is written.
	FailWrite int
	// Flips corrupt records as they are read, silently: the emulator's own
	// checksum passes, as when a drive returns bad data without an error,
	// so only the layer above can notice.
	Flips []Flip
}

// Flip flips one bit of one record whenever it is read.
type Flip struct {
	// Block is the record's index on the volume counting records only (not
	// filemarks) from 0 at the beginning of the tape.
	Block int64
	// Bit is the bit offset in the record, modulo its length in bits.
	Bit int
}

// resolved returns capacity and early-warning point, with defaults applied.
func (o Options) resolved() (capacity, ewPoint int64, maxRec int, err error) {
	maxRec = o.MaxRecordSize
	if maxRec == 0 {
		maxRec = DefaultMaxRecordSize
	}
	if maxRec < 0 || maxRec > maxScanRecord {
		return 0, 0, 0, fmt.Errorf("emulator: max record size %d out of range", maxRec)
	}
	if o.BlockSize < 0 || o.BlockSize > maxRec {
		return 0, 0, 0, fmt.Errorf("emulator: block size %d out of range", o.BlockSize)
	}
	if o.Capacity < 0 || o.EarlyWarning < 0 {
		return 0, 0, 0, fmt.Errorf("emulator: negative capacity or early-warning zone")
	}
	if o.Capacity == 0 {
		return math.MaxInt64, math.MaxInt64, maxRec, nil
	}
	if o.Capacity <= fileHeaderLen {
		return 0, 0, 0, fmt.Errorf("emulator: capacity %d too small", o.Capacity)
	}
	ew := o.EarlyWarning
	if ew == 0 {
		ew = max(o.Capacity/16, 1<<20)
		ew = min(ew, o.Capacity/2)
	}
	if ew >= o.Capacity {
		return 0, 0, 0, fmt.Errorf("emulator: early-warning zone %d not below capacity %d", ew, o.Capacity)
	}
	return o.Capacity, o.Capacity - ew, maxRec, nil
}
