package fuse

import "errors"

// Errors of mounting, for callers that explain them.
var (
	// ErrMounted: something is mounted and working at the mount point.
	ErrMounted = errors.New("mount point is already a mount point")
	// ErrStale: a dead mount (its server was killed) is at the mount
	// point and could not be removed.
	ErrStale = errors.New("stale mount at the mount point (its process died)")
)
