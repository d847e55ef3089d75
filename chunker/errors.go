package chunker

import "errors"

// ErrInvalidParams is wrapped by every error that reports unusable chunking
// parameters, so that callers can tell a bad repository config from an I/O
// failure with errors.Is.
var ErrInvalidParams = errors.New("invalid chunker parameters")

// ErrInvalidInput is wrapped by errors that report malformed arguments other
// than Params: negative offsets or sizes, a parent chunk list that is not
// contiguous, negative extents.
var ErrInvalidInput = errors.New("invalid chunker input")
