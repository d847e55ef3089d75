//go:build !(linux && (amd64 || arm64 || riscv64 || loong64 || s390x))

package st

import "fmt"

// Drive is not available on this platform; see Open.
type Drive struct{}

// Open fails on this platform: the st ioctl layout is only defined here
// for 64-bit Linux.
func Open(path string, opts Options) (*Drive, error) {
	return nil, fmt.Errorf("open tape %s: %w", path, ErrUnsupported)
}
