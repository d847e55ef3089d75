package test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cairn/repo/backend"
)

func testLocation(t *testing.T, be backend.Backend) {
	if strings.TrimSpace(be.Location()) == "" {
		t.Error("Location() is empty")
	}
}

// testSaveLoadStat round-trips a file of every type and checks Stat and
// List see it at once (read after write).
func testSaveLoadStat(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	for i, ft := range backend.AllFileTypes {
		if ft == backend.ConfigFile {
			continue
		}
		h := backend.Handle{Type: ft, Name: randomName(r)}
		data := randomData(r, 1+i*7919)
		save(t, be, h, data)
		equal(t, "LoadAll "+h.String(), loadAll(t, be, h), data)
		fi, err := be.Stat(ctx, h)
		if err != nil {
			t.Fatalf("Stat(%v): %v", h, err)
		}
		if fi.Size != int64(len(data)) || fi.Name != h.Name {
			t.Errorf("Stat(%v) = %+v, want name %s size %d", h, fi, h.Name, len(data))
		}
		sameSet(t, "List "+string(ft), list(t, be, ft), map[string]int64{h.Name: int64(len(data))})
	}
	// Files of one type never show up under another.
	for _, ft := range backend.AllFileTypes {
		if n := len(list(t, be, ft)); ft != backend.ConfigFile && n != 1 {
			t.Errorf("List(%s) reported %d files, want 1", ft, n)
		}
	}
}

// testConfig checks that the config file ignores Handle.Name and is listed
// under the name "config".
func testConfig(t *testing.T, be backend.Backend) {
	r := rng(t)
	if n := len(list(t, be, backend.ConfigFile)); n != 0 {
		t.Fatalf("List(config) on an empty backend reported %d files", n)
	}
	data := randomData(r, 333)
	save(t, be, backend.Handle{Type: backend.ConfigFile, Name: "ignored"}, data)
	equal(t, "config", loadAll(t, be, backend.Handle{Type: backend.ConfigFile}), data)
	sameSet(t, "List(config)", list(t, be, backend.ConfigFile), map[string]int64{"config": 333})
	if err := be.Remove(context.Background(), backend.Handle{Type: backend.ConfigFile, Name: "other"}); err != nil {
		t.Fatalf("Remove(config): %v", err)
	}
	_, err := be.Stat(context.Background(), backend.Handle{Type: backend.ConfigFile})
	mustNotExist(t, "Stat(config) after Remove", err)
}

// testMissing checks every method's answer for a file that is not there,
// including one that was removed.
func testMissing(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	for _, ft := range backend.AllFileTypes {
		if n := len(list(t, be, ft)); n != 0 {
			t.Errorf("List(%s) on an empty backend reported %d files", ft, n)
		}
	}
	kept := backend.Handle{Type: backend.SnapshotFile, Name: randomName(r)}
	save(t, be, kept, []byte("kept"))
	gone := backend.Handle{Type: backend.SnapshotFile, Name: randomName(r)}
	save(t, be, gone, []byte("gone"))
	if err := be.Remove(ctx, gone); err != nil {
		t.Fatalf("Remove(%v): %v", gone, err)
	}
	never := backend.Handle{Type: backend.PackFile, Name: randomName(r)}
	for _, h := range []backend.Handle{gone, never, {Type: backend.ConfigFile}} {
		_, calls, err := load(ctx, be, h, 0, 0)
		mustNotExist(t, "Load "+h.String(), err)
		if calls != 0 {
			t.Errorf("Load(%v) of a missing file called fn %d times", h, calls)
		}
		_, err = be.Stat(ctx, h)
		mustNotExist(t, "Stat "+h.String(), err)
		mustNotExist(t, "Remove "+h.String(), be.Remove(ctx, h))
	}
	sameSet(t, "List after Remove", list(t, be, backend.SnapshotFile), map[string]int64{kept.Name: 4})
}

// testInvalidHandle checks that bad names are refused before they reach
// storage: a name with a slash must not escape the repository.
func testInvalidHandle(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	bad := []backend.Handle{
		{Type: backend.PackFile, Name: ""},
		{Type: backend.PackFile, Name: "a"},
		{Type: backend.IndexFile, Name: "../config"},
		{Type: backend.IndexFile, Name: "a/b"},
		{Type: backend.IndexFile, Name: ".tmp-x"},
		{Type: backend.IndexFile, Name: strings.Repeat("a", backend.MaxNameLen+1)},
		{Type: "bogus", Name: "abcd"},
		{Type: "", Name: "abcd"},
	}
	for _, h := range bad {
		mustBe(t, "Save "+h.String(), be.Save(ctx, h, []byte("x")), backend.ErrInvalidHandle)
		_, calls, err := load(ctx, be, h, 0, 0)
		mustBe(t, "Load "+h.String(), err, backend.ErrInvalidHandle)
		if calls != 0 {
			t.Errorf("Load(%v) called fn", h)
		}
		_, err = be.Stat(ctx, h)
		mustBe(t, "Stat "+h.String(), err, backend.ErrInvalidHandle)
		mustBe(t, "Remove "+h.String(), be.Remove(ctx, h), backend.ErrInvalidHandle)
	}
	err := be.List(ctx, "bogus", func(backend.FileInfo) error { return nil })
	mustBe(t, "List(bogus)", err, backend.ErrInvalidHandle)
	for _, ft := range backend.AllFileTypes {
		if got := list(t, be, ft); len(got) != 0 {
			t.Errorf("invalid saves left files in %s: %v", ft, sortedKeys(got))
		}
	}
}

// testOverwrite checks that saving an existing name replaces it whole,
// including with a shorter file.
func testOverwrite(t *testing.T, be backend.Backend) {
	r := rng(t)
	h := backend.Handle{Type: backend.LockFile, Name: randomName(r)}
	first := randomData(r, 10000)
	second := randomData(r, 300)
	save(t, be, h, first)
	save(t, be, h, second)
	equal(t, "after overwrite", loadAll(t, be, h), second)
	fi, err := be.Stat(context.Background(), h)
	if err != nil || fi.Size != 300 {
		t.Errorf("Stat after overwrite = %+v, %v; want size 300", fi, err)
	}
	sameSet(t, "List after overwrite", list(t, be, backend.LockFile), map[string]int64{h.Name: 300})
}

// testList saves many files (packs spread over subdirectories), removes
// some, and checks List reports exactly the rest, once each.
func testList(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	want := map[backend.FileType]map[string]int64{}
	counts := map[backend.FileType]int{backend.PackFile: 40, backend.IndexFile: 15, backend.KeyFile: 3}
	for ft, n := range counts {
		want[ft] = map[string]int64{}
		for i := 0; i < n; i++ {
			h := backend.Handle{Type: ft, Name: randomName(r)}
			sz := r.IntN(2000)
			save(t, be, h, randomData(r, sz))
			want[ft][h.Name] = int64(sz)
		}
	}
	// Two pack names in the same subdirectory.
	for _, n := range []string{"ab01", "ab02"} {
		save(t, be, backend.Handle{Type: backend.PackFile, Name: n}, []byte(n))
		want[backend.PackFile][n] = 4
	}
	for ft := range counts {
		sameSet(t, "List "+string(ft), list(t, be, ft), want[ft])
	}
	i := 0
	for _, n := range sortedKeys(want[backend.PackFile]) {
		if i++; i%2 == 0 {
			if err := be.Remove(ctx, backend.Handle{Type: backend.PackFile, Name: n}); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			delete(want[backend.PackFile], n)
		}
	}
	sameSet(t, "List after removes", list(t, be, backend.PackFile), want[backend.PackFile])
	if got := list(t, be, backend.SnapshotFile); len(got) != 0 {
		t.Errorf("List(snapshots) = %v, want nothing", sortedKeys(got))
	}
}

// testListCallbackError checks that an error from fn stops the listing and
// comes back unchanged (errors.Is).
func testListCallbackError(t *testing.T, be backend.Backend) {
	r := rng(t)
	for i := 0; i < 5; i++ {
		save(t, be, backend.Handle{Type: backend.IndexFile, Name: randomName(r)}, []byte("x"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := be.List(context.Background(), backend.IndexFile, func(backend.FileInfo) error {
		calls++
		return stop
	})
	mustBe(t, "List with failing fn", err, stop)
	if calls != 1 {
		t.Errorf("fn called %d times after returning an error, want 1", calls)
	}
}

// testEmptyFile checks that a zero-length file is a file like any other.
func testEmptyFile(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	h := backend.Handle{Type: backend.PackFile, Name: randomName(r)}
	save(t, be, h, nil)
	fi, err := be.Stat(ctx, h)
	if err != nil || fi.Size != 0 {
		t.Errorf("Stat(empty) = %+v, %v", fi, err)
	}
	got, calls, err := load(ctx, be, h, 0, 0)
	if err != nil || len(got) != 0 || calls == 0 {
		t.Errorf("Load(empty) = %d bytes, %d calls, %v; want 0 bytes, fn called, nil", len(got), calls, err)
	}
	_, _, err = load(ctx, be, h, 1, 0)
	mustBe(t, "Load 1 byte of an empty file", err, errUnexpectedEOF)
	sameSet(t, "List", list(t, be, backend.PackFile), map[string]int64{h.Name: 0})
}
