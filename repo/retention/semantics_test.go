package retention

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// item is a shorthand for an ungrouped test snapshot.
func item(id string, t time.Time, tags ...string) Item {
	return Item{ID: id, Time: t, Host: "h", Paths: []string{"/"}, Tags: tags}
}

// keptIDs returns the sorted IDs of kept items.
func keptIDs(k map[string][]string) []string {
	return slices.Sorted(maps.Keys(k))
}

func wantKept(t *testing.T, got map[string][]string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := keptIDs(got); !slices.Equal(g, want) {
		t.Fatalf("kept %v, want %v (reasons %v)", g, want, got)
	}
}

func TestWeeklyUsesISOWeeksAcrossNewYear(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 12, 0, 0, 0, time.UTC) }
	items := []Item{
		item("2021-01-04-mon-W01", d(2021, 1, 4)),
		item("2021-01-03-sun-2020W53", d(2021, 1, 3)),
		item("2021-01-01-fri-2020W53", d(2021, 1, 1)),
		item("2020-12-28-mon-2020W53", d(2020, 12, 28)),
		item("2020-12-27-sun-2020W52", d(2020, 12, 27)),
		item("2019-12-31-tue-2020W01", d(2019, 12, 31)),
		item("2019-12-30-mon-2020W01", d(2019, 12, 30)),
		item("2019-12-29-sun-2019W52", d(2019, 12, 29)),
		item("2019-12-28-sat-2019W52", d(2019, 12, 28)),
	}
	now := d(2021, 2, 1)
	got := single(t, items, Policy{Weekly: 3}, now)
	// Calendar-year weeks would split 2020-W53 at New Year and keep
	// 2021-01-01 as "week 0 of 2021".
	wantKept(t, got, "2021-01-04-mon-W01", "2021-01-03-sun-2020W53", "2020-12-27-sun-2020W52")

	got = single(t, items, Policy{Weekly: Unlimited}, now)
	wantKept(t, got, "2021-01-04-mon-W01", "2021-01-03-sun-2020W53", "2020-12-27-sun-2020W52",
		"2019-12-31-tue-2020W01", "2019-12-29-sun-2019W52", "2019-12-28-sat-2019W52")
	if r := got["2019-12-28-sat-2019W52"]; !slices.Equal(r, []string{"oldest weekly snapshot"}) {
		t.Fatalf("oldest snapshot reasons %q, want [oldest weekly snapshot]", r)
	}
}

func TestBucketsUseTheSnapshotsOwnLocation(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	instants := []time.Time{
		time.Date(2020, 1, 1, 20, 0, 0, 0, time.UTC), // 01:30 Jan 2 in IST
		time.Date(2020, 1, 1, 19, 0, 0, 0, time.UTC), // 00:30 Jan 2 in IST
		time.Date(2020, 1, 1, 17, 0, 0, 0, time.UTC), // 22:30 Jan 1 in IST
		time.Date(2019, 12, 31, 10, 0, 0, 0, time.UTC),
	}
	names := []string{"n20", "n19", "n17", "dec31"}
	now := time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC)
	build := func(loc *time.Location) []Item {
		var items []Item
		for i, in := range instants {
			items = append(items, item(names[i], in.In(loc)))
		}
		return items
	}
	wantKept(t, single(t, build(time.UTC), Policy{Daily: Unlimited}, now), "n20", "dec31")
	wantKept(t, single(t, build(ist), Policy{Daily: Unlimited}, now), "n20", "n17", "dec31")

	// Within one group each snapshot keeps its own location: n17 in UTC is
	// Jan 1, n19 in IST is Jan 2, so both are the newest of their day.
	mixed := []Item{item("n19-ist", instants[1].In(ist)), item("n17-utc", instants[2]), item("dec31", instants[3])}
	wantKept(t, single(t, mixed, Policy{Daily: Unlimited}, now), "n19-ist", "n17-utc", "dec31")
}

func TestHourlyAcrossDSTFallBack(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	utc := func(s string) time.Time { return at(t, time.UTC, s).In(berlin) }
	// On 2020-10-25 Berlin's clocks go from 03:00 CEST back to 02:00 CET, so
	// the wall-clock hour 02 happens twice; restic buckets by wall clock.
	items := []Item{
		item("0305CET", utc("2020-10-25 02:05:00")),
		item("0220CET", utc("2020-10-25 01:20:00")),
		item("0240CEST", utc("2020-10-25 00:40:00")),
		item("0210CEST", utc("2020-10-25 00:10:00")),
		item("0130CEST", utc("2020-10-24 23:30:00")),
	}
	got := single(t, items, Policy{Hourly: Unlimited}, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	wantKept(t, got, "0305CET", "0220CET", "0130CEST")
}

func TestWithinCalendarArithmetic(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	cases := []struct {
		name   string
		latest time.Time
		within string
		cutoff time.Time // the exact instant a snapshot must be newer than
	}{
		// February has no 31st: Go (and restic) normalise Feb 31 to Mar 2.
		{"month before March 31", time.Date(2020, 3, 31, 12, 0, 0, 0, time.UTC), "1m", time.Date(2020, 3, 2, 12, 0, 0, 0, time.UTC)},
		{"year before a leap day", time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC), "1y", time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"into a leap day", time.Date(2021, 5, 31, 10, 0, 0, 0, time.UTC), "1y3m2d5h", time.Date(2020, 2, 29, 5, 0, 0, 0, time.UTC)},
		{"months across year end", time.Date(2021, 1, 15, 8, 0, 0, 0, time.UTC), "2m", time.Date(2020, 11, 15, 8, 0, 0, 0, time.UTC)},
		{"day across DST start is 23 hours", time.Date(2020, 3, 29, 12, 0, 0, 0, berlin), "1d", time.Date(2020, 3, 28, 11, 0, 0, 0, time.UTC)},
		{"hours are absolute across DST", time.Date(2020, 3, 29, 12, 0, 0, 0, berlin), "24h", time.Date(2020, 3, 28, 10, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDuration(c.within)
			if err != nil {
				t.Fatal(err)
			}
			items := []Item{
				item("latest", c.latest),
				item("after", c.cutoff.Add(time.Second)),
				item("exact", c.cutoff),
				item("before", c.cutoff.Add(-time.Second)),
				item("day-before", c.cutoff.AddDate(0, 0, -1)),
			}
			got := single(t, items, Policy{Within: d}, c.latest.Add(time.Hour))
			wantKept(t, got, "latest", "after")
			if r := got["after"]; !slices.Equal(r, []string{"within " + c.within}) {
				t.Fatalf("reasons %q, want [within %s]", r, c.within)
			}
		})
	}
}

func TestWithinIsMeasuredFromTheNewestSnapshot(t *testing.T) {
	last := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	items := []Item{item("a", last), item("b", last.AddDate(0, 0, -3)), item("c", last.AddDate(0, 0, -10))}
	// A year after the host stopped backing up, within 7d still keeps its
	// last week of history instead of nothing.
	got := single(t, items, Policy{Within: Duration{Days: 7}}, last.AddDate(1, 0, 0))
	wantKept(t, got, "a", "b")
}

func TestWithinIgnoresFutureSnapshotsAsAnchor(t *testing.T) {
	now := time.Date(2022, 5, 10, 12, 0, 0, 0, time.UTC)
	items := []Item{
		item("future", now.AddDate(0, 0, 5)), // a client with a skewed clock
		item("recent", now.Add(-time.Hour)),
		item("old", now.AddDate(0, 0, -10)),
	}
	got := single(t, items, Policy{Within: Duration{Days: 2}}, now)
	// Anchored at "future" the window would start 3 days after now and
	// remove "recent".
	wantKept(t, got, "future", "recent")

	got = single(t, items, Policy{WithinDaily: Duration{Days: 2}}, now)
	wantKept(t, got, "future", "recent")

	// Everything in the future: no anchor, so restic keeps all of them.
	fut := []Item{item("f1", now.Add(time.Hour)), item("f2", now.AddDate(1, 0, 0))}
	wantKept(t, single(t, fut, Policy{Within: Duration{Days: 1}}, now), "f1", "f2")
}

func TestOldestSnapshotKeptWhileBudgetRemains(t *testing.T) {
	d := func(day, hour int) time.Time { return time.Date(2023, 4, day, hour, 0, 0, 0, time.UTC) }
	items := []Item{
		item("3b", d(3, 18)), item("3a", d(3, 6)),
		item("2b", d(2, 18)), item("2a", d(2, 6)),
		item("1b", d(1, 18)), item("1a", d(1, 6)),
	}
	now := d(10, 0)

	got := single(t, items, Policy{Daily: 7}, now)
	wantKept(t, got, "3b", "2b", "1b", "1a")
	if r := got["1a"]; !slices.Equal(r, []string{"oldest daily snapshot"}) {
		t.Fatalf("1a reasons %q", r)
	}
	// Budget used up by the three days: the oldest goes.
	wantKept(t, single(t, items, Policy{Daily: 3}, now), "3b", "2b", "1b")
	// -1 never runs out.
	got = single(t, items, Policy{Daily: Unlimited}, now)
	wantKept(t, got, "3b", "2b", "1b", "1a")
	// Within buckets have no budget, but the oldest must be within.
	got = single(t, items, Policy{WithinDaily: Duration{Days: 10}}, now)
	if r := got["1a"]; !slices.Equal(r, []string{"oldest daily within 10d"}) {
		t.Fatalf("1a reasons %q", r)
	}
	wantKept(t, single(t, items, Policy{WithinDaily: Duration{Days: 1, Hours: 1}}, now), "3b", "2b")
}

func TestLastUnlimitedKeepsEverything(t *testing.T) {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var items []Item
	for i := range 50 {
		items = append(items, item(string(rune('A'+i)), base.Add(time.Duration(i)*time.Minute)))
	}
	got := single(t, items, Policy{Last: Unlimited}, base.AddDate(1, 0, 0))
	if len(got) != 50 {
		t.Fatalf("kept %d of 50", len(got))
	}
	for id, r := range got {
		if !slices.Equal(r, []string{"last snapshot"}) {
			t.Fatalf("%s reasons %q", id, r)
		}
	}
}

func TestAllReasonsListedInOrder(t *testing.T) {
	ts := time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC)
	day := Duration{Days: 1}
	p := Policy{
		Last: 1, Hourly: 1, Daily: 1, Weekly: 1, Monthly: 1, Yearly: 1,
		Within: day, WithinHourly: day, WithinDaily: day, WithinWeekly: day, WithinMonthly: day, WithinYearly: day,
		Tags: [][]string{{"a"}, {"a", "b"}, {"c"}},
	}
	got := single(t, []Item{item("x", ts, "b", "a")}, p, ts.Add(time.Minute))
	want := []string{
		"has tags [a]", "has tags [a, b]", "within 1d",
		"last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot",
		"hourly within 1d", "daily within 1d", "weekly within 1d", "monthly within 1d", "yearly within 1d",
	}
	if !slices.Equal(got["x"], want) {
		t.Fatalf("reasons\n got %q\nwant %q", got["x"], want)
	}
}

func TestKeepTag(t *testing.T) {
	ts := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	items := []Item{
		item("ab", ts, "b", "a"),
		item("a", ts.Add(-time.Hour), "a"),
		item("none", ts.Add(-2*time.Hour)),
		item("bc", ts.Add(-3*time.Hour), "b", "c"),
	}
	now := ts.Add(time.Hour)
	cases := []struct {
		name string
		tags [][]string
		want map[string][]string
	}{
		{"all tags of a list", [][]string{{"a", "b"}}, map[string][]string{"ab": {"has tags [a, b]"}}},
		{"any of several lists", [][]string{{"a"}, {"c"}}, map[string][]string{
			"ab": {"has tags [a]"}, "a": {"has tags [a]"}, "bc": {"has tags [c]"},
		}},
		{"empty tag matches untagged", [][]string{ParseTags("")}, map[string][]string{"none": {"has tags []"}}},
		{"no match keeps nothing", [][]string{{"zzz"}}, map[string][]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := single(t, items, Policy{Tags: c.tags}, now)
			if !maps.EqualFunc(got, c.want, slices.Equal) {
				t.Fatalf("kept %v, want %v", got, c.want)
			}
		})
	}
}

func TestGrouping(t *testing.T) {
	ts := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, host string, age int, paths, tags []string) Item {
		return Item{ID: id, Host: host, Time: ts.Add(-time.Duration(age) * time.Hour), Paths: paths, Tags: tags}
	}
	items := []Item{
		mk("h1-ab-new", "h1", 1, []string{"/b", "/a"}, []string{"y", "x"}),
		mk("h1-ab-old", "h1", 2, []string{"/a", "/b"}, nil),
		mk("h1-c", "h1", 3, []string{"/c"}, []string{"x", "y"}),
		mk("h2-ab", "h2", 4, []string{"/a", "/b"}, []string{"x"}),
		mk("h2-ab-old", "h2", 5, []string{"/b", "/a"}, []string{"x"}),
	}
	orig := make([]Item, len(items))
	for i, it := range items {
		orig[i] = it
		orig[i].Paths = slices.Clone(it.Paths)
		orig[i].Tags = slices.Clone(it.Tags)
	}
	now := ts
	cases := []struct {
		g    GroupBy
		keys []GroupKey
		keep []string
	}{
		{DefaultGroupBy(), []GroupKey{
			{Host: "h1", Paths: []string{"/a", "/b"}}, {Host: "h1", Paths: []string{"/c"}}, {Host: "h2", Paths: []string{"/a", "/b"}},
		}, []string{"h1-ab-new", "h1-c", "h2-ab"}},
		{GroupBy{}, []GroupKey{{}}, []string{"h1-ab-new"}},
		{GroupBy{Host: true}, []GroupKey{{Host: "h1"}, {Host: "h2"}}, []string{"h1-ab-new", "h2-ab"}},
		{GroupBy{Paths: true}, []GroupKey{{Paths: []string{"/a", "/b"}}, {Paths: []string{"/c"}}}, []string{"h1-ab-new", "h1-c"}},
		{GroupBy{Tags: true}, []GroupKey{{}, {Tags: []string{"x"}}, {Tags: []string{"x", "y"}}}, []string{"h1-ab-old", "h2-ab", "h1-ab-new"}},
		{GroupBy{Host: true, Paths: true, Tags: true}, []GroupKey{
			{Host: "h1", Paths: []string{"/a", "/b"}}, {Host: "h1", Paths: []string{"/a", "/b"}, Tags: []string{"x", "y"}},
			{Host: "h1", Paths: []string{"/c"}, Tags: []string{"x", "y"}}, {Host: "h2", Paths: []string{"/a", "/b"}, Tags: []string{"x"}},
		}, []string{"h1-ab-old", "h1-ab-new", "h1-c", "h2-ab"}},
	}
	for _, c := range cases {
		t.Run("by "+c.g.String(), func(t *testing.T) {
			groups := mustApply(t, items, Policy{Last: 1}, c.g, now)
			var keys []GroupKey
			var keep []string
			for _, g := range groups {
				keys = append(keys, g.Key)
				keep = append(keep, ids(g.Keep)...)
			}
			if !slices.EqualFunc(keys, c.keys, func(a, b GroupKey) bool {
				return a.Host == b.Host && slices.Equal(a.Paths, b.Paths) && slices.Equal(a.Tags, b.Tags)
			}) {
				t.Fatalf("keys %v, want %v", keys, c.keys)
			}
			if !slices.Equal(keep, c.keep) {
				t.Fatalf("kept %v, want %v", keep, c.keep)
			}
			// Keys must be copies: writing to one must not reach the input.
			for _, g := range groups {
				for i := range g.Key.Paths {
					g.Key.Paths[i] = "mutated"
				}
				for i := range g.Key.Tags {
					g.Key.Tags[i] = "mutated"
				}
			}
		})
	}
	for i := range items {
		if !slices.Equal(items[i].Paths, orig[i].Paths) || !slices.Equal(items[i].Tags, orig[i].Tags) || items[i].ID != orig[i].ID {
			t.Fatalf("Apply modified its input: %v, was %v", items[i], orig[i])
		}
	}
}

func TestApplyIgnoresInputOrderAndBreaksTiesByID(t *testing.T) {
	ts := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	a := []Item{item("b", ts), item("a", ts), item("c", ts.Add(-time.Hour))}
	b := []Item{a[2], a[0], a[1]}
	ga := mustApply(t, a, Policy{Last: 1}, GroupBy{}, ts.Add(time.Hour))
	gb := mustApply(t, b, Policy{Last: 1}, GroupBy{}, ts.Add(time.Hour))
	if got := ids(ga[0].Keep); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("kept %v, want [a]: equal times are ordered by ID", got)
	}
	if !slices.Equal(ids(ga[0].Remove), ids(gb[0].Remove)) || !slices.Equal(ids(ga[0].Remove), []string{"b", "c"}) {
		t.Fatalf("remove lists differ by input order: %v vs %v", ids(ga[0].Remove), ids(gb[0].Remove))
	}
}

func TestApplyErrors(t *testing.T) {
	ts := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	items := []Item{item("a", ts)}
	cases := []struct {
		name  string
		items []Item
		p     Policy
		now   time.Time
		want  error
	}{
		{"empty policy", items, Policy{}, ts, ErrEmptyPolicy},
		{"empty tag list slice is empty", items, Policy{Tags: [][]string{}}, ts, ErrEmptyPolicy},
		{"count below -1", items, Policy{Daily: -2}, ts, ErrInvalidPolicy},
		{"negative duration", items, Policy{WithinWeekly: Duration{Days: -1}}, ts, ErrInvalidPolicy},
		{"zero now", items, Policy{Last: 1}, time.Time{}, ErrNoClock},
		{"duplicate id", []Item{item("a", ts), item("a", ts.Add(time.Hour))}, Policy{Last: 1}, ts, ErrInvalidItems},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			groups, err := Apply(c.items, c.p, DefaultGroupBy(), c.now)
			if !errorsIs(err, c.want) || groups != nil {
				t.Fatalf("Apply = %v, %v; want nil, %v", groups, err, c.want)
			}
		})
	}
	groups, err := Apply(nil, Policy{Last: 1}, DefaultGroupBy(), ts)
	if err != nil || len(groups) != 0 {
		t.Fatalf("Apply(nil) = %v, %v; want no groups", groups, err)
	}
}

func TestWithinBucketsExcludeTheCutoffInstant(t *testing.T) {
	latest := time.Date(2022, 8, 10, 12, 0, 0, 0, time.UTC)
	items := []Item{
		item("latest", latest),
		item("exact", latest.AddDate(0, 0, -1)),
		item("older", latest.AddDate(0, 0, -2)),
	}
	// "exact" is the newest of its hour but sits on the cutoff, which is
	// exclusive for every within rule.
	wantKept(t, single(t, items, Policy{WithinHourly: Duration{Days: 1}}, latest.Add(time.Hour)), "latest")
	wantKept(t, single(t, items, Policy{WithinHourly: Duration{Days: 1, Hours: 1}}, latest.Add(time.Hour)), "latest", "exact")
}
