package fuse

import (
	"testing"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
)

func TestStateNamesAndGroups(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	sn := func(seed string, t time.Time, host string, tags ...string) *repo.Snapshot {
		return &repo.Snapshot{ID: crypto.Hash([]byte(seed)), Time: t, Host: host, Tags: tags}
	}
	a := sn("a", at, "web/1", "latest", "x", "x")
	b := sn("b", at.Add(500*time.Millisecond), "..", "50%")
	c := sn("c", at.Add(time.Hour), "", ".")
	st := newState([]*repo.Snapshot{c, b, a}, time.UTC)

	if len(st.all) != 3 || st.all[0].sn != a || st.all[2].sn != c {
		t.Fatalf("not oldest first: %v", st.all)
	}
	// Same second: the older keeps the plain name.
	if got := st.all[0].timeName; got != "2024-01-02T03:04:05Z" {
		t.Errorf("a: %q", got)
	}
	if got, want := st.all[1].timeName, "2024-01-02T03:04:05Z-"+b.ID.Short(); got != want {
		t.Errorf("b: %q, want %q", got, want)
	}
	for name, want := range map[string]int{"web%2F1": 1, "%2E%2E": 1} {
		if got := len(st.hosts[name]); got != want {
			t.Errorf("hosts[%q]: %d snapshots, want %d (hosts %v)", name, got, want, sortedKeys(st.hosts))
		}
	}
	if len(st.hosts) != 2 {
		t.Errorf("a snapshot without host should be in no host dir: %v", sortedKeys(st.hosts))
	}
	for name, want := range map[string]int{"%6Catest": 1, "x": 1, "50%25": 1, "%2E": 1} {
		if got := len(st.tags[name]); got != want {
			t.Errorf("tags[%q]: %d snapshots, want %d (tags %v)", name, got, want, sortedKeys(st.tags))
		}
	}
	if !st.newest.Equal(c.Time) {
		t.Errorf("newest %v", st.newest)
	}
}
