package retention

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// GroupBy selects the snapshot fields that split snapshots into groups; the
// policy is applied to each group on its own. The zero GroupBy puts every
// snapshot in one group (restic's --group-by "").
type GroupBy struct {
	Host, Paths, Tags bool
}

// DefaultGroupBy is forget's default grouping, "host,paths": one group per
// backed-up source, so a busy host cannot push out another host's snapshots.
func DefaultGroupBy() GroupBy {
	return GroupBy{Host: true, Paths: true}
}

// ParseGroupBy parses a --group-by value: a comma-separated list of host,
// paths and tags (singular forms and "hosts" accepted, as in restic). Empty
// entries are ignored, so "" disables grouping.
func ParseGroupBy(s string) (GroupBy, error) {
	var g GroupBy
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "host", "hosts":
			g.Host = true
		case "path", "paths":
			g.Paths = true
		case "tag", "tags":
			g.Tags = true
		case "":
		default:
			return GroupBy{}, fmt.Errorf("%w: unknown criterion %q (want host, paths or tags)", ErrInvalidGroupBy, part)
		}
	}
	return g, nil
}

// Set parses s into g, so a *GroupBy can back a command-line flag.
func (g *GroupBy) Set(s string) error {
	v, err := ParseGroupBy(s)
	if err != nil {
		return err
	}
	*g = v
	return nil
}

// String formats g as ParseGroupBy accepts it, e.g. "host,paths".
func (g GroupBy) String() string {
	var parts []string
	if g.Host {
		parts = append(parts, "host")
	}
	if g.Paths {
		parts = append(parts, "paths")
	}
	if g.Tags {
		parts = append(parts, "tags")
	}
	return strings.Join(parts, ",")
}

// GroupKey identifies a group. Fields not grouped by are empty; Paths and
// Tags are sorted copies, so ["/b", "/a"] and ["/a", "/b"] share a group.
type GroupKey struct {
	Host  string   `json:"host"`
	Paths []string `json:"paths"`
	Tags  []string `json:"tags"`
}

// String describes k as restic's forget header does:
// "host h, path [/a /b], tags [x]"; the key of an ungrouped run is "".
func (k GroupKey) String() string {
	var parts []string
	if k.Host != "" {
		parts = append(parts, "host "+k.Host)
	}
	if len(k.Paths) > 0 {
		parts = append(parts, fmt.Sprintf("path %v", k.Paths))
	}
	if len(k.Tags) > 0 {
		parts = append(parts, fmt.Sprintf("tags %v", k.Tags))
	}
	return strings.Join(parts, ", ")
}

// compareKeys orders groups by host, then paths, then tags, so Apply's output
// does not depend on map iteration or input order.
func compareKeys(a, b GroupKey) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if c := slices.Compare(a.Paths, b.Paths); c != 0 {
		return c
	}
	return slices.Compare(a.Tags, b.Tags)
}

// keyOf returns the group key of it under g and an injective string form of
// it for map lookups (quoting keeps "a,b" apart from ["a" "b"]).
func keyOf(it Item, g GroupBy) (GroupKey, string) {
	var k GroupKey
	if g.Host {
		k.Host = it.Host
	}
	if g.Paths {
		k.Paths = sortedCopy(it.Paths)
	}
	if g.Tags {
		k.Tags = sortedCopy(it.Tags)
	}
	var b strings.Builder
	b.WriteString(strconv.Quote(k.Host))
	for _, list := range [][]string{k.Paths, k.Tags} {
		b.WriteString("|" + strconv.Itoa(len(list)))
		for _, s := range list {
			b.WriteString(strconv.Quote(s))
		}
	}
	return k, b.String()
}

// sortedCopy returns a sorted copy of s (nil for an empty s), leaving the
// caller's slice untouched.
func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
