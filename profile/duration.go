package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a Go duration ("90m", "1h30m") optionally preceded
// by a number of days ("7d", "1d12h"), as people write check intervals.
// The empty string is zero.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: want e.g. 30m, 12h, 7d", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || d < 0 {
			return 0, fmt.Errorf("duration %q: want e.g. 30m, 12h, 7d", s)
		}
	}
	return days + d, nil
}
