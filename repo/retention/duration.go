package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDurationComponent bounds each field of a Duration. It keeps the hour
// arithmetic far from time.Duration's ±292-year range and rejects typos such
// as a pasted epoch timestamp; a million hours is still more than a century.
const maxDurationComponent = 1_000_000

// Duration is a calendar duration as accepted by --keep-within and the
// --keep-within-* flags: years, months and days are calendar units applied
// with time.Time.AddDate, hours are exact 60-minute hours.
type Duration struct {
	Years, Months, Days, Hours int
}

// ParseDuration parses a duration such as "1y2m3d4h". Units are y (years),
// m (months), d (days) and h (hours), each at most once, in any order. An
// empty string is the zero Duration (the rule is off), as in restic.
func ParseDuration(s string) (Duration, error) {
	var d Duration
	seen := map[byte]bool{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 && rest[0] == '-' {
			return Duration{}, fmt.Errorf("%w %q: negative values are not allowed", ErrInvalidDuration, s)
		}
		if i == 0 {
			return Duration{}, fmt.Errorf("%w %q: expected a number at %q", ErrInvalidDuration, s, rest)
		}
		if i == len(rest) {
			return Duration{}, fmt.Errorf("%w %q: no unit after number %s", ErrInvalidDuration, s, rest)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > maxDurationComponent {
			return Duration{}, fmt.Errorf("%w %q: number %s out of range (max %d)", ErrInvalidDuration, s, rest[:i], maxDurationComponent)
		}
		unit := rest[i]
		if seen[unit] {
			// restic silently lets the last one win; a repeated unit is
			// almost certainly a typo, and guessing is wrong for a delete.
			return Duration{}, fmt.Errorf("%w %q: unit %q given twice", ErrInvalidDuration, s, unit)
		}
		seen[unit] = true
		switch unit {
		case 'y':
			d.Years = n
		case 'm':
			d.Months = n
		case 'd':
			d.Days = n
		case 'h':
			d.Hours = n
		default:
			return Duration{}, fmt.Errorf("%w %q: unknown unit %q (want y, m, d or h)", ErrInvalidDuration, s, unit)
		}
		rest = rest[i+1:]
	}
	return d, nil
}

// Set parses s into d, so a *Duration can back a command-line flag.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// String formats d the way restic does ("1y2m3d4h", zero fields omitted);
// the zero Duration formats as "".
func (d Duration) String() string {
	var b strings.Builder
	for _, f := range []struct {
		n    int
		unit string
	}{{d.Years, "y"}, {d.Months, "m"}, {d.Days, "d"}, {d.Hours, "h"}} {
		if f.n != 0 {
			b.WriteString(strconv.Itoa(f.n))
			b.WriteString(f.unit)
		}
	}
	return b.String()
}

// Zero reports whether every field of d is zero, i.e. the rule is off.
func (d Duration) Zero() bool {
	return d == Duration{}
}

// validate rejects what restic's forget rejects (negative fields) and the
// out-of-range values ParseDuration would not produce.
func (d Duration) validate() error {
	for _, n := range []int{d.Years, d.Months, d.Days, d.Hours} {
		if n < 0 {
			return fmt.Errorf("duration %v: negative values are not allowed", d)
		}
		if n > maxDurationComponent {
			return fmt.Errorf("duration %v: component %d exceeds %d", d, n, maxDurationComponent)
		}
	}
	return nil
}

// cutoff returns the instant d before anchor: calendar fields go through
// AddDate in the anchor's own location (so "1m" before March 31 is March 2,
// Go's normalisation of February 31, exactly as restic computes it), then the
// hours are subtracted as absolute time.
func (d Duration) cutoff(anchor time.Time) time.Time {
	return anchor.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}
