package notify

import "errors"

// errPermanent marks a failure a retry cannot fix (a 4xx answer, a
// malformed address): Dispatch stops trying that target.
var errPermanent = errors.New("permanent failure")

// ErrBadURL is returned for a target address that cannot be used.
var ErrBadURL = errors.New("bad notification URL")
