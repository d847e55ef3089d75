package export

import "errors"

// ErrNothingSelected: the snapshot selection (filter, since) left no
// snapshot to export.
var ErrNothingSelected = errors.New("export: no snapshot selected")

// ErrHoldsData: a volume to label holds data and LabelOptions.Force was
// not given.
var ErrHoldsData = errors.New("export: volume holds data (use force to relabel it)")
