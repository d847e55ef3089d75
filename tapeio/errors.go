package tapeio

import "errors"

// Sentinel errors. Drivers wrap them with context (device, position), so
// callers test with errors.Is.
var (
	// ErrFilemark is returned by ReadRecord and SpaceRecords when the
	// operation crossed a filemark. The tape is then positioned just after
	// the filemark, at the start of the next tape file (st semantics on a
	// no-rewind device). No data is returned with it.
	ErrFilemark = errors.New("tapeio: filemark")

	// ErrEndOfData is returned when a read or a forward space reaches the
	// end of recorded data: blank tape after the last record or filemark,
	// or a second filemark read directly after a filemark (the classic
	// double-filemark end of data; cairn never writes empty tape files, so
	// the two cannot be confused on its volumes). The position stays at the
	// end of data; writing there appends.
	ErrEndOfData = errors.New("tapeio: end of data")

	// ErrEndOfMedium is returned by WriteRecord when the record was NOT
	// written because the tape is full. It is the st ENOSPC: once a write
	// has entered the early-warning zone near the physical end, that write
	// completes normally and the next write fails with ErrEndOfMedium.
	// Filemarks, and after that one refusal further records, can still be
	// written into the early-warning zone (for trailers), until the
	// physical end refuses them too. Status reports EarlyWarning and EOT.
	ErrEndOfMedium = errors.New("tapeio: end of medium")

	// ErrBeginningOfMedium is returned when spacing backwards reached the
	// beginning of the tape before the requested count was done.
	ErrBeginningOfMedium = errors.New("tapeio: beginning of medium")

	// ErrBufferTooSmall is returned by ReadRecord in variable block mode
	// when the record is longer than the buffer (st: ENOMEM). The record is
	// lost to this read: the tape is positioned after it.
	ErrBufferTooSmall = errors.New("tapeio: record longer than read buffer")

	// ErrInvalidBlockSize is returned for a transfer that does not fit the
	// block mode: in fixed mode a length that is not a multiple of the
	// block size or a record of another size on tape, in any mode an empty
	// record or one above the driver's maximum (st: EINVAL).
	ErrInvalidBlockSize = errors.New("tapeio: invalid block size for transfer")

	// ErrWriteProtected is returned when writing to a write-protected
	// medium or a drive opened read-only (st: EACCES, EROFS at open).
	ErrWriteProtected = errors.New("tapeio: medium is write-protected")

	// ErrNoMedium is returned when no tape is loaded (st: ENOMEDIUM).
	ErrNoMedium = errors.New("tapeio: no medium loaded")

	// ErrIO is an unrecoverable read or write error reported by the drive
	// (st: EIO), e.g. a medium error. After a read error the position is
	// past the failed record.
	ErrIO = errors.New("tapeio: I/O error")

	// ErrBusy is returned when the drive or volume is already open
	// elsewhere (st: EBUSY). A tape drive has exactly one user.
	ErrBusy = errors.New("tapeio: drive busy")

	// ErrPositionUnknown is returned by Position when the driver lost track
	// of the position (st reports -1 after some errors). Rewind restores it.
	ErrPositionUnknown = errors.New("tapeio: position unknown")

	// ErrClosed is returned by operations on a closed Drive or Changer.
	ErrClosed = errors.New("tapeio: drive closed")

	// ErrNoSuchSlot is returned by a Changer for a slot number out of range.
	ErrNoSuchSlot = errors.New("tapeio: no such slot")

	// ErrSlotEmpty is returned by Changer.Load for a slot without a cartridge.
	ErrSlotEmpty = errors.New("tapeio: slot is empty")

	// ErrDriveFull is returned by Changer.Load while another slot is loaded;
	// Unload first, as with a real library.
	ErrDriveFull = errors.New("tapeio: drive already loaded")
)
