package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadCron is wrapped by every cron expression error.
var ErrBadCron = errors.New("bad cron expression")

// field is one of the five cron fields.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
}

var fields = []field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}},
}

// macros are the @ forms cron accepts, with their systemd equivalents
// ("" when systemd has none).
var macros = map[string]string{
	"@hourly": "hourly", "@daily": "daily", "@midnight": "daily", "@weekly": "weekly",
	"@monthly": "monthly", "@yearly": "yearly", "@annually": "yearly", "@reboot": "",
}

// ValidateCron checks a five-field cron expression (or an @ macro).
func ValidateCron(expr string) error {
	_, err := parseCron(expr)
	return err
}

// item is one element of a field's comma list: lo-hi/step; all is "*".
type item struct {
	all          bool
	lo, hi, step int
}

func parseCron(expr string) ([][]item, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		if _, ok := macros[expr]; !ok {
			return nil, fmt.Errorf("%w: unknown macro %q", ErrBadCron, expr)
		}
		return nil, nil
	}
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return nil, fmt.Errorf("%w: %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", ErrBadCron, expr, len(parts))
	}
	out := make([][]item, 5)
	for i, p := range parts {
		for _, s := range strings.Split(p, ",") {
			it, err := parseItem(fields[i], s)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], it)
		}
	}
	return out, nil
}

func parseItem(f field, s string) (item, error) {
	it := item{step: 1}
	base, step, hasStep := strings.Cut(s, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > f.max {
			return it, fmt.Errorf("%w: %s: bad step in %q", ErrBadCron, f.name, s)
		}
		it.step = n
	}
	if base == "*" {
		it.all, it.lo, it.hi = true, f.min, f.max
		return it, nil
	}
	lo, hi, isRange := strings.Cut(base, "-")
	var err error
	if it.lo, err = f.value(lo); err != nil {
		return it, err
	}
	it.hi = it.lo
	if isRange {
		if it.hi, err = f.value(hi); err != nil {
			return it, err
		}
		if it.hi < it.lo {
			return it, fmt.Errorf("%w: %s: range %q runs backwards", ErrBadCron, f.name, base)
		}
	} else if hasStep {
		it.hi = f.max // "5/15" means from 5 on
	}
	return it, nil
}

func (f field) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min || n > f.max {
		return 0, fmt.Errorf("%w: %s: %q is not in %d-%d", ErrBadCron, f.name, s, f.min, f.max)
	}
	return n, nil
}

// OnCalendar translates a cron expression into a systemd OnCalendar value.
// Cron runs a job when either a restricted day of month or a restricted
// day of week matches; systemd requires both, so that combination is
// refused rather than silently changed.
func OnCalendar(expr string) (string, error) {
	parsed, err := parseCron(expr)
	if err != nil {
		return "", err
	}
	if parsed == nil {
		v := macros[strings.TrimSpace(expr)]
		if v == "" {
			return "", fmt.Errorf("%w: %s has no systemd timer equivalent", ErrBadCron, expr)
		}
		return v, nil
	}
	restricted := func(its []item) bool { return !(len(its) == 1 && its[0].all && its[0].step == 1) }
	if restricted(parsed[2]) && restricted(parsed[4]) {
		return "", fmt.Errorf("%w: cron runs when day-of-month OR day-of-week matches, systemd when both do; use the cron scheduler or set one of them to *", ErrBadCron)
	}
	num := func(f field, its []item, width int) string {
		var parts []string
		for _, it := range its {
			switch {
			case it.all && it.step == 1:
				parts = append(parts, "*")
			case it.step > 1 && it.hi == f.max:
				parts = append(parts, fmt.Sprintf("%0*d/%d", width, it.lo, it.step))
			case it.step > 1:
				// A bounded range with a step: list its values.
				for v := it.lo; v <= it.hi; v += it.step {
					parts = append(parts, fmt.Sprintf("%0*d", width, v))
				}
			case it.lo == it.hi:
				parts = append(parts, fmt.Sprintf("%0*d", width, it.lo))
			default:
				parts = append(parts, fmt.Sprintf("%0*d..%0*d", width, it.lo, width, it.hi))
			}
		}
		return strings.Join(parts, ",")
	}
	cal := fmt.Sprintf("*-%s-%s %s:%s:00", num(fields[3], parsed[3], 2), num(fields[2], parsed[2], 2),
		num(fields[1], parsed[1], 2), num(fields[0], parsed[0], 2))
	if restricted(parsed[4]) {
		days := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
		var parts []string
		for _, it := range parsed[4] {
			for v := it.lo; v <= it.hi; v += it.step {
				parts = append(parts, days[v])
			}
		}
		cal = strings.Join(dedup(parts), ",") + " " + cal
	}
	return cal, nil
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
