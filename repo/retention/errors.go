package retention

import "errors"

// Sentinel errors returned (wrapped) by this package. Callers match them with
// errors.Is; the CLI maps them to exit codes.
var (
	// ErrEmptyPolicy is returned by Apply when the policy has no rule at all.
	// An empty policy would remove every snapshot, which is never what a user
	// meant, so it is refused instead of executed.
	ErrEmptyPolicy = errors.New("retention: policy is empty, refusing to remove every snapshot")

	// ErrInvalidPolicy is returned when a count is below -1 or a duration has
	// a negative or out-of-range component.
	ErrInvalidPolicy = errors.New("retention: invalid policy")

	// ErrInvalidDuration is returned by ParseDuration for malformed input.
	ErrInvalidDuration = errors.New("retention: invalid duration")

	// ErrInvalidGroupBy is returned by ParseGroupBy for an unknown criterion.
	ErrInvalidGroupBy = errors.New("retention: invalid group-by")

	// ErrInvalidItems is returned by Apply when two items share an ID, which
	// would make the keep/remove plan ambiguous.
	ErrInvalidItems = errors.New("retention: invalid items")

	// ErrNoClock is returned by Apply when now is the zero time; a forgotten
	// clock would silently change which snapshot anchors the within rules.
	ErrNoClock = errors.New("retention: reference time (now) is zero")
)
