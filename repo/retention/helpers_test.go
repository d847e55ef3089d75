package retention

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkPlan asserts the invariants every plan must satisfy: each input item
// appears in exactly one group, exactly once, in Keep or Remove; both lists
// are newest first; kept items have reasons and removed ones none; every item
// matches its group's key under g; groups are ordered by key.
func checkPlan(t *testing.T, items []Item, groups []Group, g GroupBy) {
	t.Helper()
	seen := map[string]int{}
	for gi, grp := range groups {
		if gi > 0 && keyString(groups[gi-1].Key) >= keyString(grp.Key) {
			t.Errorf("groups out of order or duplicated: %q then %q", groups[gi-1].Key, grp.Key)
		}
		for _, list := range [][]Decision{grp.Keep, grp.Remove} {
			for i, d := range list {
				seen[d.Item.ID]++
				if i > 0 && d.Item.Time.After(list[i-1].Item.Time) {
					t.Errorf("group %q: %s listed after older %s", grp.Key, d.Item.ID, list[i-1].Item.ID)
				}
				if !matchesKey(d.Item, grp.Key, g) {
					t.Errorf("item %s (host %q paths %v tags %v) in group %q", d.Item.ID, d.Item.Host, d.Item.Paths, d.Item.Tags, grp.Key)
				}
			}
		}
		for _, d := range grp.Keep {
			if len(d.Reasons) == 0 {
				t.Errorf("kept %s without a reason", d.Item.ID)
			}
		}
		for _, d := range grp.Remove {
			if len(d.Reasons) != 0 {
				t.Errorf("removed %s with reasons %v", d.Item.ID, d.Reasons)
			}
		}
	}
	for _, it := range items {
		if seen[it.ID] != 1 {
			t.Errorf("item %s appears %d times in the plan", it.ID, seen[it.ID])
		}
		delete(seen, it.ID)
	}
	for id := range seen {
		t.Errorf("plan holds unknown item %s", id)
	}
}

// keyString is a test-side total order on keys (host, then paths, then tags).
func keyString(k GroupKey) string {
	return k.Host + "\x01" + strings.Join(k.Paths, "\x00") + "\x01" + strings.Join(k.Tags, "\x00")
}

func matchesKey(it Item, k GroupKey, g GroupBy) bool {
	sorted := func(s []string) []string {
		c := slices.Clone(s)
		slices.Sort(c)
		return c
	}
	host, paths, tags := "", []string(nil), []string(nil)
	if g.Host {
		host = it.Host
	}
	if g.Paths {
		paths = sorted(it.Paths)
	}
	if g.Tags {
		tags = sorted(it.Tags)
	}
	return host == k.Host && slices.Equal(paths, k.Paths) && slices.Equal(tags, k.Tags)
}

// kept returns ID -> reasons of every kept item in the plan.
func kept(groups []Group) map[string][]string {
	out := map[string][]string{}
	for _, g := range groups {
		for _, d := range g.Keep {
			out[d.Item.ID] = d.Reasons
		}
	}
	return out
}

// mustApply runs Apply and checks the plan invariants.
func mustApply(t *testing.T, items []Item, p Policy, g GroupBy, now time.Time) []Group {
	t.Helper()
	groups, err := Apply(items, p, g, now)
	if err != nil {
		t.Fatalf("Apply(%v): %v", p, err)
	}
	checkPlan(t, items, groups, g)
	return groups
}

// ids returns the IDs of a decision list, in order.
func ids(ds []Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Item.ID
	}
	return out
}

// at parses "2006-01-02 15:04:05" in loc.
func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation(time.DateTime, s, loc)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// single applies p to items as one group and returns kept ID -> reasons.
func single(t *testing.T, items []Item, p Policy, now time.Time) map[string][]string {
	t.Helper()
	groups := mustApply(t, items, p, GroupBy{}, now)
	if len(groups) != 1 {
		t.Fatalf("got %d groups, want 1", len(groups))
	}
	return kept(groups)
}

// errorsIs is errors.Is, named here so test tables read naturally.
func errorsIs(err, target error) bool { return errors.Is(err, target) }
