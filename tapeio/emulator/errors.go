package emulator

import "errors"

// ErrNotVolume is returned by Open for an existing file that does not start
// with the emulator's volume header: it is never overwritten.
var ErrNotVolume = errors.New("emulator: not a virtual tape volume file")
