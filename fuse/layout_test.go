package fuse

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cairn/repo/tree"
)

func readNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func readlink(t *testing.T, p string) string {
	t.Helper()
	s, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLayoutViewsAndLatest(t *testing.T) {
	r := newMemRepo()
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(s string) *tree.Node {
		return &tree.Node{Name: "f", Type: tree.TypeFile, Mode: 0o644, Size: uint64(len(s)), Content: r.content([]byte(s), 4)}
	}
	a := r.snapshot(t0, "alpha", []string{"daily"}, r.tree(mk("first")))
	b := r.snapshot(t0.Add(time.Hour), "beta", []string{"daily", "db"}, r.tree(mk("second")))
	// Same second as b: its name gets the short id.
	c := r.snapshot(t0.Add(time.Hour+time.Millisecond), "alpha", nil, r.tree(mk("third")))
	_, mnt := mountMem(t, r, Options{Location: time.UTC, RefreshInterval: 20 * time.Millisecond})

	ta, tb := "2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"
	tc := tb + "-" + c.ID.Short()
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"", []string{"hosts", "ids", "latest", "snapshots", "tags"}},
		{"snapshots", []string{ta, tb, tc, "latest"}},
		{"ids", sorted(a.ID.Short(), b.ID.Short(), c.ID.Short(), "latest")},
		{"hosts", []string{"alpha", "beta"}},
		{"hosts/alpha", []string{ta, tc, "latest"}},
		{"hosts/beta", []string{tb, "latest"}},
		{"tags", []string{"daily", "db"}},
		{"tags/daily", []string{ta, tb, "latest"}},
		{"tags/db", []string{tb, "latest"}},
	} {
		if got := readNames(t, filepath.Join(mnt, tc.dir)); strings.Join(got, "|") != strings.Join(sorted(tc.want...), "|") {
			t.Errorf("%s/: %q, want %q", tc.dir, got, sorted(tc.want...))
		}
	}
	for p, want := range map[string]string{
		"latest": "snapshots/" + tc, "snapshots/latest": tc, "ids/latest": c.ID.Short(),
		"hosts/alpha/latest": tc, "hosts/beta/latest": tb, "tags/daily/latest": tb,
	} {
		if got := readlink(t, filepath.Join(mnt, p)); got != want {
			t.Errorf("%s -> %q, want %q", p, got, want)
		}
	}
	for p, want := range map[string]string{
		"latest/f": "third", "snapshots/" + ta + "/f": "first", "ids/" + b.ID.Short() + "/f": "second",
		"hosts/beta/latest/f": "second", "tags/daily/" + ta + "/f": "first",
	} {
		if got, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q (%v), want %q", p, got, err, want)
		}
	}
	var st os.FileInfo
	st, err := os.Stat(filepath.Join(mnt, "snapshots", ta))
	if err != nil || !st.ModTime().Equal(t0) || !st.IsDir() {
		t.Errorf("snapshot dir: %v %v, want a dir dated %v", st, err, t0)
	}
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestRefreshIsCheapAndFindsNewSnapshots(t *testing.T) {
	r := newMemRepo()
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	root := r.tree(&tree.Node{Name: "f", Type: tree.TypeFile, Content: r.content([]byte("x"), 4)})
	r.snapshot(t0, "h", nil, root)
	const interval = 200 * time.Millisecond
	_, mnt := mountMem(t, r, Options{Location: time.UTC, RefreshInterval: interval})

	// Many lookups and listings in a burst list the ids at most a few
	// times and load no snapshot again.
	lists0, loads0 := r.count(func() int { return r.lists }), r.count(func() int { return r.snapLoads })
	start := time.Now()
	for i := 0; i < 200; i++ {
		os.ReadDir(filepath.Join(mnt, "snapshots"))
		os.Stat(filepath.Join(mnt, "snapshots", "nope"))
	}
	elapsed := time.Since(start)
	lists := r.count(func() int { return r.lists }) - lists0
	if max := int(elapsed/interval) + 2; lists > max {
		t.Errorf("%d listings in %v, want at most %d (one per %v)", lists, elapsed, max, interval)
	}
	if loads := r.count(func() int { return r.snapLoads }) - loads0; loads != 0 {
		t.Errorf("unchanged snapshot set loaded %d snapshots again", loads)
	}

	// A new snapshot appears on the next listing after the interval,
	// with latest moved, and the index synced for its blobs.
	sn := r.snapshot(t0.Add(time.Minute), "h", nil, root)
	name := "2024-03-01T10:01:00Z"
	deadline := time.Now().Add(5 * time.Second)
	for readlinkOr(filepath.Join(mnt, "snapshots", "latest")) != name {
		if time.Now().After(deadline) {
			t.Fatalf("new snapshot %s did not appear: %q", sn.ID.Short(), readNames(t, filepath.Join(mnt, "snapshots")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(mnt, "hosts", "h", name, "f")); err != nil {
		t.Error(err)
	}
	if got := readlinkOr(filepath.Join(mnt, "latest")); got != "snapshots/"+name {
		t.Errorf("latest -> %q after refresh", got)
	}
	if r.count(func() int { return r.syncs }) == 0 {
		t.Error("new snapshot did not sync the index")
	}
	if loads := r.count(func() int { return r.snapLoads }) - loads0; loads != 1 {
		t.Errorf("one new snapshot loaded %d snapshots", loads)
	}

	// A forgotten snapshot disappears.
	r.mu.Lock()
	delete(r.snaps, sn.ID)
	r.mu.Unlock()
	deadline = time.Now().Add(5 * time.Second)
	for readlinkOr(filepath.Join(mnt, "snapshots", "latest")) == name {
		if time.Now().After(deadline) {
			t.Fatal("removed snapshot still latest")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readlinkOr(p string) string {
	s, _ := os.Readlink(p)
	return s
}

func TestMountRefusesALiveMountPoint(t *testing.T) {
	r := newMemRepo()
	r.snapshot(time.Now(), "h", nil, r.tree())
	fsys, mnt := mountMem(t, r, Options{})
	if _, err := fsys.Mount(mnt, MountOptions{}); !errors.Is(err, ErrMounted) {
		t.Errorf("second mount at %s: %v, want ErrMounted", mnt, err)
	}
	if cleared, err := ClearStale(mnt); cleared || err != nil {
		t.Errorf("ClearStale of a live mount: %v %v", cleared, err)
	}
}
