package retention

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// compareWithModel applies p with the default grouping and compares every
// group's kept set and reasons with the reference model; model is
// modelGroups(items), computed once per history.
func compareWithModel(t *testing.T, items []Item, model map[string][]Item, p Policy, now time.Time) []Group {
	t.Helper()
	groups := mustApply(t, items, p, DefaultGroupBy(), now)
	if len(groups) != len(model) {
		t.Fatalf("got %d groups, model has %d", len(groups), len(model))
	}
	for _, g := range groups {
		list := model[modelKey(g.Key.Host, g.Key.Paths)]
		if !list[0].Time.Before(now) {
			t.Fatalf("group %q: the model anchors within at the newest snapshot, which must be before now", g.Key)
		}
		if len(list) != len(g.Keep)+len(g.Remove) {
			t.Fatalf("group %q: %d items, model has %d", g.Key, len(g.Keep)+len(g.Remove), len(list))
		}
		want := expectGroup(list, p)
		got := kept([]Group{g})
		for id, w := range want {
			if gr, ok := got[id]; !ok {
				t.Errorf("group %q: %s (%v) removed, model keeps it for %v", g.Key, id, timeOf(list, id), w)
			} else if !slices.Equal(gr, w) {
				t.Errorf("group %q: %s reasons %q, model %q", g.Key, id, gr, w)
			}
		}
		for id, r := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("group %q: %s (%v) kept for %v, model removes it", g.Key, id, timeOf(list, id), r)
			}
		}
	}
	return groups
}

func timeOf(list []Item, id string) time.Time {
	for _, it := range list {
		if it.ID == id {
			return it.Time
		}
	}
	return time.Time{}
}

// modelCase is one policy of the model comparison; keepPerGroup, when
// positive, is the number of kept snapshots per group that follows from the
// policy alone, checked without the model.
type modelCase struct {
	name         string
	p            Policy
	keepPerGroup int
}

func modelCases() []modelCase {
	return []modelCase{
		{"last 10", Policy{Last: 10}, 10},
		{"last unlimited", Policy{Last: Unlimited}, 0},
		{"hourly 36", Policy{Hourly: 36}, 36},
		{"daily 7", Policy{Daily: 7}, 7},
		{"daily unlimited", Policy{Daily: Unlimited}, 0},
		{"weekly 70 crosses new years", Policy{Weekly: 70}, 70},
		{"weekly unlimited", Policy{Weekly: Unlimited}, 0},
		{"monthly 1000 runs out of history", Policy{Monthly: 1000}, 0},
		{"yearly unlimited", Policy{Yearly: Unlimited}, 0},
		{"grandfather-father-son", Policy{Last: 3, Hourly: 24, Daily: 7, Weekly: 5, Monthly: 12, Yearly: 10}, 0},
		{"within 1y2m", Policy{Within: Duration{Years: 1, Months: 2}}, 0},
		{"within 3d12h", Policy{Within: Duration{Days: 3, Hours: 12}}, 0},
		{"within buckets", Policy{
			WithinHourly: Duration{Days: 2}, WithinDaily: Duration{Months: 1}, WithinWeekly: Duration{Months: 6},
			WithinMonthly: Duration{Years: 2}, WithinYearly: Duration{Years: 10},
		}, 0},
		{"keep tags", Policy{Tags: [][]string{{"manual"}, {"nightly", "keep"}}}, 0},
		{"everything", Policy{
			Last: 5, Hourly: 12, Daily: 10, Weekly: 8, Monthly: 24, Yearly: Unlimited,
			Within: Duration{Days: 2}, WithinHourly: Duration{Days: 3}, WithinDaily: Duration{Days: 20},
			WithinWeekly: Duration{Months: 3}, WithinMonthly: Duration{Years: 1, Months: 6}, WithinYearly: Duration{Years: 2},
			Tags: [][]string{{"keep"}},
		}, 0},
	}
}

// TestApplyMatchesModelFixedZones runs every rule over 2.5 years of hourly
// snapshots of three hosts (four groups) in UTC, +05:30 and -03:00.
func TestApplyMatchesModelFixedZones(t *testing.T) {
	items := genHosts(fixedZoneHosts(), 24*800)
	model := modelGroups(items)
	now := time.Date(2022, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, c := range modelCases() {
		t.Run(c.name, func(t *testing.T) {
			groups := compareWithModel(t, items, model, c.p, now)
			if len(groups) != 4 {
				t.Fatalf("got %d groups, want 4", len(groups))
			}
			for _, g := range groups {
				if c.keepPerGroup > 0 && len(g.Keep) != c.keepPerGroup {
					t.Errorf("group %q kept %d, want %d", g.Key, len(g.Keep), c.keepPerGroup)
				}
				if c.p.Last == Unlimited && len(g.Remove) != 0 {
					t.Errorf("last -1 removed %d in group %q", len(g.Remove), g.Key)
				}
			}
		})
	}
}

// TestApplyMatchesModelDST covers zones with daylight saving time, for the
// rules whose periods are days or longer (hours across DST are pinned down
// by TestHourlyAcrossDSTFallBack).
func TestApplyMatchesModelDST(t *testing.T) {
	hosts := []hostSpec{
		{host: "ny", loc: mustLoad(t, "America/New_York"), paths: [][]string{{"/"}}, seed: 11},
		{host: "berlin", loc: mustLoad(t, "Europe/Berlin"), paths: [][]string{{"/home"}}, seed: 12},
		{host: "sydney", loc: mustLoad(t, "Australia/Sydney"), paths: [][]string{{"/"}}, seed: 13},
	}
	items := genHosts(hosts, 24*730)
	model := modelGroups(items)
	now := time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		p    Policy
	}{
		{"days and longer", Policy{Daily: 40, Weekly: 30, Monthly: Unlimited, Yearly: 1}},
		{"within day arithmetic", Policy{Within: Duration{Months: 7, Days: 3, Hours: 5}}},
		{"within buckets", Policy{WithinDaily: Duration{Months: 5}, WithinWeekly: Duration{Years: 1}, WithinMonthly: Duration{Years: 5}}},
	} {
		t.Run(c.name, func(t *testing.T) { compareWithModel(t, items, model, c.p, now) })
	}
}

// TestModelAgreesOnHandPickedCase guards the model itself against being
// wrong in the same way as the implementation.
func TestModelAgreesOnHandPickedCase(t *testing.T) {
	list := []Item{
		{ID: "d", Time: time.Date(2021, 1, 4, 9, 0, 0, 0, time.UTC)},
		{ID: "c", Time: time.Date(2021, 1, 3, 9, 0, 0, 0, time.UTC)},
		{ID: "b", Time: time.Date(2021, 1, 3, 8, 0, 0, 0, time.UTC)},
		{ID: "a", Time: time.Date(2020, 12, 31, 9, 0, 0, 0, time.UTC)},
	}
	got := expectPeriods(list, unitWeek, Unlimited, "w", true)
	want := map[string]string{"d": "w", "c": "w", "a": "oldest w"}
	if !maps.Equal(got, want) {
		t.Fatalf("model weekly = %v, want %v", got, want)
	}
	if got := expectPeriods(list, unitDay, 2, "d", true); !maps.Equal(got, map[string]string{"d": "d", "c": "d"}) {
		t.Fatalf("model daily 2 = %v", got)
	}
}
