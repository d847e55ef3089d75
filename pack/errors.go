package pack

import "errors"

// ErrFormat is wrapped by errors about data that is not a valid pack:
// bad magic, checksum or length, truncation, fields that contradict what
// the caller expected. Errors about a failed AEAD tag wrap crypto.ErrAuth
// instead.
var ErrFormat = errors.New("invalid pack format")

// ErrDuplicate is returned by Writer.Add and Writer.AddPayload for a blob id
// already in the pack. The blob is stored once; callers that deduplicate
// concurrently may treat it as success.
var ErrDuplicate = errors.New("blob already in pack")

// ErrTooLarge is returned when a blob or the pack would exceed the format's
// 32-bit offsets and lengths (MaxPackSize).
var ErrTooLarge = errors.New("pack size limit exceeded")

// errFinalized is returned by a Writer used after Finalize.
var errFinalized = errors.New("pack writer already finalized")
