package stream

import "errors"

// ErrNotStream is returned by Find when a snapshot's root tree does not hold
// exactly one file node, i.e. it is not a stream snapshot.
var ErrNotStream = errors.New("not a stream snapshot: the root tree does not hold exactly one file")

// ErrEmptyCommand is returned by Command for an empty argv.
var ErrEmptyCommand = errors.New("no command given")
