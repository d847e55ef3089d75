//go:build !(linux && (amd64 || arm64 || riscv64 || loong64 || s390x))

package st

import (
	"fmt"

	"cairn/tapeio"
)

// Drive is not available on this platform; see Open. It carries the
// tapeio.Drive method set so that callers compile everywhere, but no value
// of it is ever made.
type Drive struct{ tapeio.Drive }

// Open fails on this platform: the st ioctl layout is only defined here
// for 64-bit Linux.
func Open(path string, opts Options) (*Drive, error) {
	return nil, fmt.Errorf("open tape %s: %w", path, ErrUnsupported)
}
