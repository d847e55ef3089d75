package retention

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// This file is an independent reference model of the policy, written the
// other way round from the implementation: instead of walking snapshots and
// comparing bucket keys, it walks calendar periods backwards (built with
// time.Date, never with Year()/ISOWeek() keys) and binary-searches for the
// newest snapshot inside each period.

type unit int

const (
	unitHour unit = iota
	unitDay
	unitWeek
	unitMonth
	unitYear
)

// period returns the calendar period [start, end) that holds t, in t's
// location. Hours are only exact in zones without DST; days and longer are
// exact wherever local midnight always exists.
func period(u unit, t time.Time) (time.Time, time.Time) {
	loc := t.Location()
	y, m, d := t.Date()
	switch u {
	case unitHour:
		s := time.Date(y, m, d, t.Hour(), 0, 0, 0, loc)
		return s, s.Add(time.Hour)
	case unitDay:
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case unitWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc), time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case unitMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	}
}

// expectPeriods returns ID -> reason for a bucketed rule over list (newest
// first, one location): the newest snapshot of each of the n most recent
// periods that hold snapshots (all periods if n < 0), plus the oldest
// snapshot of the list if budget is left and oldestOK.
func expectPeriods(list []Item, u unit, n int, reason string, oldestOK bool) map[string]string {
	out := map[string]string{}
	if len(list) == 0 || n == 0 {
		return out
	}
	oldest := list[len(list)-1]
	start, end := period(u, list[0].Time)
	kept := 0
	for (n < 0 || kept < n) && end.After(oldest.Time) {
		i := sort.Search(len(list), func(i int) bool { return list[i].Time.Before(end) })
		if i < len(list) && !list[i].Time.Before(start) {
			out[list[i].ID] = reason
			kept++
		}
		start, end = period(u, start.Add(-time.Nanosecond))
	}
	if (n < 0 || kept < n) && oldestOK {
		if _, ok := out[oldest.ID]; !ok {
			out[oldest.ID] = "oldest " + reason
		}
	}
	return out
}

// modelCutoff is Duration arithmetic spelled out with time.Date.
func modelCutoff(latest time.Time, d Duration) time.Time {
	y, m, day := latest.Date()
	return time.Date(y-d.Years, m-time.Month(d.Months), day-d.Days,
		latest.Hour(), latest.Minute(), latest.Second(), latest.Nanosecond(), latest.Location()).
		Add(-time.Duration(d.Hours) * time.Hour)
}

// expectGroup returns ID -> reasons for one group sorted newest first, whose
// newest snapshot is not in the future.
func expectGroup(list []Item, p Policy) map[string][]string {
	var rules []map[string]string
	for _, l := range p.Tags {
		m := map[string]string{}
		for _, it := range list {
			if containsAll(it.Tags, l) {
				m[it.ID] = "has tags [" + strings.Join(l, ", ") + "]"
			}
		}
		rules = append(rules, m)
	}
	latest := list[0].Time
	if !p.Within.Zero() {
		m := map[string]string{}
		cut := modelCutoff(latest, p.Within)
		for _, it := range list {
			if it.Time.After(cut) {
				m[it.ID] = "within " + p.Within.String()
			}
		}
		rules = append(rules, m)
	}
	last := map[string]string{}
	for i, it := range list {
		if p.Last < 0 || i < p.Last {
			last[it.ID] = "last snapshot"
		}
	}
	rules = append(rules, last,
		expectPeriods(list, unitHour, p.Hourly, "hourly snapshot", true),
		expectPeriods(list, unitDay, p.Daily, "daily snapshot", true),
		expectPeriods(list, unitWeek, p.Weekly, "weekly snapshot", true),
		expectPeriods(list, unitMonth, p.Monthly, "monthly snapshot", true),
		expectPeriods(list, unitYear, p.Yearly, "yearly snapshot", true))
	for _, w := range []struct {
		d    Duration
		u    unit
		name string
	}{
		{p.WithinHourly, unitHour, "hourly within "}, {p.WithinDaily, unitDay, "daily within "},
		{p.WithinWeekly, unitWeek, "weekly within "}, {p.WithinMonthly, unitMonth, "monthly within "},
		{p.WithinYearly, unitYear, "yearly within "},
	} {
		if w.d.Zero() {
			continue
		}
		cut := modelCutoff(latest, w.d)
		n := 0
		for n < len(list) && list[n].Time.After(cut) {
			n++
		}
		rules = append(rules, expectPeriods(list[:n], w.u, -1, w.name+w.d.String(), n == len(list)))
	}

	out := map[string][]string{}
	for _, it := range list {
		for _, r := range rules {
			if reason, ok := r[it.ID]; ok {
				out[it.ID] = append(out[it.ID], reason)
			}
		}
	}
	return out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// modelGroups groups items by host and sorted paths (the default grouping)
// and sorts each group newest first.
func modelGroups(items []Item) map[string][]Item {
	groups := map[string][]Item{}
	for _, it := range items {
		k := modelKey(it.Host, it.Paths)
		groups[k] = append(groups[k], it)
	}
	for _, g := range groups {
		sort.Slice(g, func(i, j int) bool { return g[i].Time.After(g[j].Time) })
	}
	return groups
}

func modelKey(host string, paths []string) string {
	p := slices.Clone(paths)
	sort.Strings(p)
	return host + "\x00" + strings.Join(p, "\x00")
}
