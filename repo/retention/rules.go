package retention

import "time"

// bucketKey names the calendar period a snapshot falls in for one rule.
type bucketKey [4]int

// bucketFunc maps a snapshot (its time and its position in the newest-first
// list) to its bucket. Calendar fields are read in t's own location, as
// restic does, so a snapshot taken at 01:30 local time counts for its local
// day even when that is still the previous day in UTC.
type bucketFunc func(t time.Time, nr int) bucketKey

func byPosition(_ time.Time, nr int) bucketKey { return bucketKey{nr} }

func byHour(t time.Time, _ int) bucketKey {
	return bucketKey{t.Year(), int(t.Month()), t.Day(), t.Hour()}
}

func byDay(t time.Time, _ int) bucketKey { return bucketKey{t.Year(), int(t.Month()), t.Day()} }

// byWeek uses ISO 8601 weeks: Monday to Sunday, and the days around New Year
// belong to the ISO year of their week (2021-01-01 is in 2020-W53).
func byWeek(t time.Time, _ int) bucketKey {
	y, w := t.ISOWeek()
	return bucketKey{y, w}
}

func byMonth(t time.Time, _ int) bucketKey { return bucketKey{t.Year(), int(t.Month())} }

func byYear(t time.Time, _ int) bucketKey { return bucketKey{t.Year()} }

// bucketRule is the state of one bucketed rule while a group is walked
// newest first: it keeps a snapshot whenever the bucket changes.
type bucketRule struct {
	bucket bucketFunc
	reason string
	last   bucketKey
	seen   bool
}

// offer decides whether the rule keeps the snapshot at position nr and
// returns the reason. oldest marks the group's last (oldest) snapshot, which
// restic also keeps while the rule has budget left, even when its bucket is
// already represented; the reason then gets the prefix "oldest ".
func (r *bucketRule) offer(t time.Time, nr int, oldest bool) (string, bool) {
	k := r.bucket(t, nr)
	same := r.seen && k == r.last
	if same && !oldest {
		return "", false
	}
	r.last, r.seen = k, true
	if same {
		return "oldest " + r.reason, true
	}
	return r.reason, true
}

// countedRule is a --keep-{last,hourly,...} rule: a bucketRule with a budget
// of buckets (Unlimited never runs out).
type countedRule struct {
	bucketRule
	remaining int
}

func (r *countedRule) offer(t time.Time, nr int, oldest bool) (string, bool) {
	if r.remaining == 0 {
		return "", false
	}
	reason, ok := r.bucketRule.offer(t, nr, oldest)
	if ok && r.remaining > 0 {
		r.remaining--
	}
	return reason, ok
}

// withinRule is a --keep-within-{hourly,...} rule: a bucketRule without a
// budget that only sees snapshots newer than its cutoff.
type withinRule struct {
	bucketRule
	within Duration
	cutoff time.Time
}

func (r *withinRule) offer(t time.Time, nr int, oldest bool) (string, bool) {
	if r.within.Zero() || !t.After(r.cutoff) {
		return "", false
	}
	reason, ok := r.bucketRule.offer(t, nr, oldest)
	if !ok {
		return "", false
	}
	return reason + " " + r.within.String(), true
}

// anchor returns the time the within rules are measured from: the newest
// snapshot strictly before now. If every snapshot is in the future it is the
// zero time, which (as in restic) puts every snapshot within any duration.
func anchor(list []Item, now time.Time) time.Time {
	var latest time.Time
	for _, it := range list {
		if it.Time.After(latest) && it.Time.Before(now) {
			latest = it.Time
		}
	}
	return latest
}

// evaluate applies p to one group sorted newest first. Each rule sees every
// snapshot and decides on its own; a snapshot is kept if any rule keeps it.
func evaluate(list []Item, p Policy, now time.Time) (keep, remove []Decision) {
	latest := anchor(list, now)
	counted := []*countedRule{
		{bucketRule{bucket: byPosition, reason: "last snapshot"}, p.Last},
		{bucketRule{bucket: byHour, reason: "hourly snapshot"}, p.Hourly},
		{bucketRule{bucket: byDay, reason: "daily snapshot"}, p.Daily},
		{bucketRule{bucket: byWeek, reason: "weekly snapshot"}, p.Weekly},
		{bucketRule{bucket: byMonth, reason: "monthly snapshot"}, p.Monthly},
		{bucketRule{bucket: byYear, reason: "yearly snapshot"}, p.Yearly},
	}
	within := []*withinRule{
		{bucketRule{bucket: byHour, reason: "hourly within"}, p.WithinHourly, p.WithinHourly.cutoff(latest)},
		{bucketRule{bucket: byDay, reason: "daily within"}, p.WithinDaily, p.WithinDaily.cutoff(latest)},
		{bucketRule{bucket: byWeek, reason: "weekly within"}, p.WithinWeekly, p.WithinWeekly.cutoff(latest)},
		{bucketRule{bucket: byMonth, reason: "monthly within"}, p.WithinMonthly, p.WithinMonthly.cutoff(latest)},
		{bucketRule{bucket: byYear, reason: "yearly within"}, p.WithinYearly, p.WithinYearly.cutoff(latest)},
	}
	withinAll := p.Within.cutoff(latest)

	for nr, it := range list {
		oldest := nr == len(list)-1
		var reasons []string
		for _, l := range p.Tags {
			if hasTags(it.Tags, l) {
				reasons = append(reasons, "has tags "+formatTagList(l))
			}
		}
		if !p.Within.Zero() && it.Time.After(withinAll) {
			reasons = append(reasons, "within "+p.Within.String())
		}
		for _, r := range counted {
			if reason, ok := r.offer(it.Time, nr, oldest); ok {
				reasons = append(reasons, reason)
			}
		}
		for _, r := range within {
			if reason, ok := r.offer(it.Time, nr, oldest); ok {
				reasons = append(reasons, reason)
			}
		}
		if len(reasons) > 0 {
			keep = append(keep, Decision{Item: it, Reasons: reasons})
		} else {
			remove = append(remove, Decision{Item: it})
		}
	}
	return keep, remove
}
