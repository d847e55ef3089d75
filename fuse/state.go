package fuse

import (
	"sort"
	"strings"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
)

// timeFormat names snapshot directories: sortable, and without ':'
// trouble in the tools that matter (ls, find, cp). Seconds are enough
// to tell backups apart; collisions get the short id appended.
const timeFormat = "2006-01-02T15:04:05Z07:00"

// snapEntry is one snapshot and its names in the virtual directories.
type snapEntry struct {
	sn       *repo.Snapshot
	timeName string // under snapshots/, hosts/<h>/ and tags/<t>/
	idName   string // under ids/
}

// state is an immutable view of the repository's snapshots; a refresh
// that finds a change builds a new one, so readers never lock.
type state struct {
	byID   map[crypto.ID]*snapEntry
	all    []*snapEntry // oldest first
	hosts  map[string][]*snapEntry
	tags   map[string][]*snapEntry
	newest time.Time // the newest snapshot's time: virtual dirs' mtime
}

// newState names the snapshots sns (any order) and groups them.
func newState(sns []*repo.Snapshot, loc *time.Location) *state {
	sns = append([]*repo.Snapshot(nil), sns...)
	repo.SortSnapshots(sns)
	st := &state{byID: map[crypto.ID]*snapEntry{}, hosts: map[string][]*snapEntry{}, tags: map[string][]*snapEntry{}}
	seenTime, seenID := map[string]bool{}, map[string]bool{}
	for _, sn := range sns {
		e := &snapEntry{sn: sn, timeName: sn.Time.In(loc).Format(timeFormat), idName: sn.ID.Short()}
		// The oldest keeps the plain name, so existing paths stay valid
		// when a later snapshot of the same second appears.
		if seenTime[e.timeName] {
			e.timeName += "-" + sn.ID.Short()
		}
		if seenID[e.idName] {
			e.idName = sn.ID.String()
		}
		seenTime[e.timeName], seenID[e.idName] = true, true
		st.byID[sn.ID] = e
		st.all = append(st.all, e)
		if h := entryName(sn.Host); h != "" {
			st.hosts[h] = append(st.hosts[h], e)
		}
		for _, tag := range uniq(sn.Tags) {
			if t := entryName(tag); t != "" {
				st.tags[t] = append(st.tags[t], e)
			}
		}
		if sn.Time.After(st.newest) {
			st.newest = sn.Time
		}
	}
	return st
}

// sameIDs reports whether ids is exactly the set of snapshots st was
// built from (before filtering).
func sameIDs(known map[crypto.ID]bool, ids []crypto.ID) bool {
	if len(known) != len(ids) {
		return false
	}
	for _, id := range ids {
		if !known[id] {
			return false
		}
	}
	return true
}

// entryName makes a host or tag usable as a directory name, escaping
// what cannot appear in one ('/', NUL) or means something else (".",
// "..", "latest") with URL-style %XX escapes; "" means no entry.
func entryName(s string) string {
	s = nameEscaper.Replace(s)
	switch s {
	case ".", "..":
		return strings.ReplaceAll(s, ".", "%2E")
	case latestName:
		return "%6C" + s[1:]
	}
	return s
}

var nameEscaper = strings.NewReplacer("%", "%25", "/", "%2F", "\x00", "%00")

func uniq(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

func sortedKeys(m map[string][]*snapEntry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
