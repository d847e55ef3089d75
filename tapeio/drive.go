package tapeio

import "fmt"

// Drive is one tape drive with a loaded medium, positioned somewhere on it.
// Implementations have Linux st semantics on a no-rewind device; the
// conformance suite in package drivetest pins them down. A Drive is not
// safe for concurrent use: a tape has one head.
//
// The methods take no context.Context: the underlying st ioctls and reads
// cannot be interrupted once issued (a rewind runs to completion whatever
// the caller wants), so a context would promise what it cannot keep.
// Callers that need cancellation check their context between calls, as
// package volume does between blocks.
type Drive interface {
	// WriteRecord writes p as one record (variable mode) or as
	// len(p)/BlockSize blocks (fixed mode) at the current position, and
	// discards everything after it on the tape. An empty p is
	// ErrInvalidBlockSize. ErrEndOfMedium means nothing was written.
	WriteRecord(p []byte) error

	// ReadRecord reads the next record into buf and returns its length.
	// In fixed mode len(buf) must be a multiple of the block size and as
	// many whole blocks are read as fit, stopping early (without error)
	// before a filemark or the end of data. It returns ErrFilemark when it
	// crossed a filemark, ErrEndOfData at the end of recorded data, and
	// ErrBufferTooSmall when a variable-mode record does not fit buf.
	ReadRecord(buf []byte) (int, error)

	// WriteFilemarks writes n filemarks at the current position, discarding
	// what follows; n == 0 only flushes the drive's buffer. Writing a
	// filemark makes the data before it durable.
	WriteFilemarks(n int) error

	// SpaceFiles moves over n filemarks: forward for n > 0, ending just
	// after the nth filemark (start of a file); backward for n < 0, ending
	// just before the |n|th filemark (end of the previous file), like
	// MTFSF/MTBSF. It returns ErrEndOfData or ErrBeginningOfMedium when the
	// tape ends first. To reach the start of the current file use
	// SpaceFiles(-1) then SpaceFiles(1), or Rewind at file 0.
	SpaceFiles(n int) error

	// SpaceRecords moves over n records within the current file: forward
	// for n > 0, backward for n < 0 (MTFSR/MTBSR). Meeting a filemark stops
	// it with ErrFilemark: after the filemark going forward, before it going
	// backward.
	SpaceRecords(n int) error

	// Rewind moves to the beginning of the tape.
	Rewind() error

	// SeekEndOfData moves to the end of recorded data, where a write
	// appends (MTEOM).
	SeekEndOfData() error

	// Position returns the current tape file number (filemarks passed since
	// the beginning of the tape) and the record number within that file,
	// both counting from 0. In fixed mode records are blocks.
	Position() (file, record int64, err error)

	// SetBlockSize selects fixed block mode with blocks of n bytes, or
	// variable block mode for n == 0 (MTSETBLK).
	SetBlockSize(n int) error

	// Status reports the drive and medium state.
	Status() (Status, error)

	// Close releases the drive. If the last operation was a record write,
	// a filemark is written first (st semantics), so a file is never left
	// unterminated. The tape is not rewound. Close is idempotent.
	Close() error
}

// Status is a snapshot of a drive's state (st MTIOCGET).
type Status struct {
	// Online is true when a medium is loaded and ready.
	Online bool
	// BOT is true at the beginning of the tape.
	BOT bool
	// Filemark is true just after a filemark (st GMT_EOF): record 0 of a
	// file other than the first.
	Filemark bool
	// EOD is true at the end of recorded data, when the driver knows it
	// (st only after SeekEndOfData or a read that hit it).
	EOD bool
	// EarlyWarning is true when the position is in the early-warning zone
	// near the physical end of the medium (st GMT_EOT): the volume should
	// be finished.
	EarlyWarning bool
	// EOT is true when the physical end of the medium refused a write.
	EOT bool
	// WriteProtected is true when the medium or the open mode forbids writing.
	WriteProtected bool
	// File and Record are the position as returned by Position, or -1 when
	// unknown.
	File, Record int64
	// BlockSize is the fixed block size, 0 in variable mode.
	BlockSize int
}

// String formats the status like mt(1) does, for logs and error messages.
func (s Status) String() string {
	flags := ""
	add := func(on bool, name string) {
		if on {
			flags += " " + name
		}
	}
	add(s.Online, "ONLINE")
	add(s.BOT, "BOT")
	add(s.Filemark, "EOF")
	add(s.EOD, "EOD")
	add(s.EarlyWarning, "EW")
	add(s.EOT, "EOT")
	add(s.WriteProtected, "WR_PROT")
	return fmt.Sprintf("file=%d record=%d blocksize=%d%s", s.File, s.Record, s.BlockSize, flags)
}
