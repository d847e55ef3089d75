package retention

import (
	"fmt"
	"strings"
)

// Unlimited is the count that never runs out: --keep-daily -1 keeps the
// newest snapshot of every day there is.
const Unlimited = -1

// Policy is a forget policy, one field per --keep-* flag. A count of 0 turns
// the rule off, Unlimited (-1) makes it unbounded; a zero Duration turns a
// within rule off. Rules are independent: a snapshot is kept when any rule
// keeps it.
type Policy struct {
	// Last keeps the n newest snapshots (--keep-last).
	Last int
	// Hourly, Daily, Weekly, Monthly and Yearly keep the newest snapshot of
	// each of the n most recent hours, days, ISO weeks, months and years that
	// have snapshots (--keep-hourly ... --keep-yearly).
	Hourly, Daily, Weekly, Monthly, Yearly int

	// Within keeps every snapshot newer than the group's newest snapshot
	// minus the duration (--keep-within).
	Within Duration
	// WithinHourly ... WithinYearly keep the newest snapshot of each hour,
	// day, ISO week, month or year among the snapshots Within would keep for
	// that duration (--keep-within-hourly ... --keep-within-yearly).
	WithinHourly, WithinDaily, WithinWeekly, WithinMonthly, WithinYearly Duration

	// Tags keeps every snapshot that has all tags of at least one inner list
	// (--keep-tag, repeatable; "a,b" is one list). An inner list containing
	// "" matches snapshots without tags, as in restic.
	Tags [][]string
}

// Empty reports whether p has no rule at all. Applying an empty policy would
// remove everything, so Apply refuses it.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 &&
		p.Monthly == 0 && p.Yearly == 0 && len(p.Tags) == 0 &&
		p.Within.Zero() && p.WithinHourly.Zero() && p.WithinDaily.Zero() &&
		p.WithinWeekly.Zero() && p.WithinMonthly.Zero() && p.WithinYearly.Zero()
}

// Validate reports the same mistakes restic's forget rejects: counts below -1
// and durations with negative fields. It also rejects out-of-range durations.
func (p Policy) Validate() error {
	counts := []struct {
		flag string
		n    int
	}{
		{"keep-last", p.Last}, {"keep-hourly", p.Hourly}, {"keep-daily", p.Daily},
		{"keep-weekly", p.Weekly}, {"keep-monthly", p.Monthly}, {"keep-yearly", p.Yearly},
	}
	for _, c := range counts {
		if c.n < Unlimited {
			return fmt.Errorf("%w: --%s %d: negative values other than -1 are not allowed", ErrInvalidPolicy, c.flag, c.n)
		}
	}
	durations := []struct {
		flag string
		d    Duration
	}{
		{"keep-within", p.Within}, {"keep-within-hourly", p.WithinHourly},
		{"keep-within-daily", p.WithinDaily}, {"keep-within-weekly", p.WithinWeekly},
		{"keep-within-monthly", p.WithinMonthly}, {"keep-within-yearly", p.WithinYearly},
	}
	for _, d := range durations {
		if err := d.d.validate(); err != nil {
			return fmt.Errorf("%w: --%s: %v", ErrInvalidPolicy, d.flag, err)
		}
	}
	return nil
}

// String describes p in restic's words, e.g. "keep 7 daily, 4 weekly
// snapshots", for the "Applying Policy:" line of forget.
func (p Policy) String() string {
	var counts, within []string
	for _, c := range []struct {
		n    int
		name string
	}{
		{p.Last, "latest"}, {p.Hourly, "hourly"}, {p.Daily, "daily"},
		{p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"},
	} {
		switch {
		case c.n > 0:
			counts = append(counts, fmt.Sprintf("%d %s", c.n, c.name))
		case c.n == Unlimited:
			counts = append(counts, "all "+c.name)
		}
	}
	for _, w := range []struct {
		d    Duration
		name string
	}{
		{p.WithinHourly, "hourly"}, {p.WithinDaily, "daily"}, {p.WithinWeekly, "weekly"},
		{p.WithinMonthly, "monthly"}, {p.WithinYearly, "yearly"},
	} {
		if !w.d.Zero() {
			within = append(within, fmt.Sprintf("%s snapshots within %v", w.name, w.d))
		}
	}

	var s string
	if len(counts) > 0 {
		s = strings.Join(counts, ", ") + " snapshots"
	}
	if len(within) > 0 {
		s = joinNonEmpty(s, ", ", strings.Join(within, ", "))
	}
	if len(p.Tags) > 0 {
		lists := make([]string, len(p.Tags))
		for i, l := range p.Tags {
			lists[i] = formatTagList(l)
		}
		s = joinNonEmpty(s, " and ", "all snapshots with tags ["+strings.Join(lists, " ")+"]")
	}
	if !p.Within.Zero() {
		s = joinNonEmpty(s, " and ", fmt.Sprintf("all snapshots within %v of the newest", p.Within))
	}
	if s == "" {
		return "remove"
	}
	return "keep " + s
}

// joinNonEmpty appends b to a, with sep only when a is not empty.
func joinNonEmpty(a, sep, b string) string {
	if a == "" {
		return b
	}
	return a + sep + b
}
