package st

import "errors"

// ErrRewindingDevice is returned by Open for a rewinding st device
// (/dev/stN) unless Options.AllowRewinding is set: it rewinds on close,
// which silently turns the next append into an overwrite from the start.
var ErrRewindingDevice = errors.New("st: rewinding tape device; use the no-rewind /dev/nstN")

// ErrUnsupported is returned by Open on platforms without the Linux st
// ioctl interface.
var ErrUnsupported = errors.New("st: Linux SCSI tape ioctls are not supported on this platform")
