package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Item is one snapshot as retention sees it; the caller converts its
// snapshots. Time keeps its location: calendar buckets are computed in it.
type Item struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Host  string    `json:"host"`
	Paths []string  `json:"paths"`
	Tags  []string  `json:"tags"`
}

// Decision is the verdict on one item. Reasons lists every rule that keeps
// it, in a fixed order (tags, within, last, hourly ... yearly, within-hourly
// ... within-yearly); it is empty for removed items.
type Decision struct {
	Item    Item     `json:"item"`
	Reasons []string `json:"reasons"`
}

// Group is the plan for one group: Keep and Remove together hold each of the
// group's items exactly once, both ordered newest first.
type Group struct {
	Key    GroupKey   `json:"key"`
	Keep   []Decision `json:"keep"`
	Remove []Decision `json:"remove"`
}

// Apply groups items by g and applies p to each group, returning the groups
// ordered by key. It only plans; deleting the removed snapshots is the
// caller's job.
//
// now is the caller's clock and is used as restic uses its clock: the within
// rules are measured back from the newest snapshot of the group that is older
// than now, so snapshots dated in the future (clock skew on a client) cannot
// move the window and expire everything else. Within is deliberately not
// measured from now: a host that stopped backing up a year ago keeps its last
// --keep-within worth of history.
//
// Apply refuses an empty policy (ErrEmptyPolicy), an invalid one
// (ErrInvalidPolicy), a zero now (ErrNoClock) and duplicate item IDs
// (ErrInvalidItems). It does not modify items.
func Apply(items []Item, p Policy, g GroupBy, now time.Time) ([]Group, error) {
	if p.Empty() {
		return nil, ErrEmptyPolicy
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("apply policy: %w", err)
	}
	if now.IsZero() {
		return nil, ErrNoClock
	}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it.ID] {
			return nil, fmt.Errorf("%w: snapshot ID %q appears twice", ErrInvalidItems, it.ID)
		}
		seen[it.ID] = true
	}

	type bucket struct {
		key   GroupKey
		items []Item
	}
	index := map[string]*bucket{}
	var buckets []*bucket
	for _, it := range items {
		k, ks := keyOf(it, g)
		b := index[ks]
		if b == nil {
			b = &bucket{key: k}
			index[ks] = b
			buckets = append(buckets, b)
		}
		b.items = append(b.items, it)
	}
	slices.SortFunc(buckets, func(a, b *bucket) int { return compareKeys(a.key, b.key) })

	groups := make([]Group, 0, len(buckets))
	for _, b := range buckets {
		sortNewestFirst(b.items)
		keep, remove := evaluate(b.items, p, now)
		groups = append(groups, Group{Key: b.key, Keep: keep, Remove: remove})
	}
	return groups, nil
}

// sortNewestFirst orders items by time, newest first. restic breaks ties by
// load order; ties here go to the smaller ID so the plan is reproducible.
func sortNewestFirst(items []Item) {
	slices.SortFunc(items, func(a, b Item) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
