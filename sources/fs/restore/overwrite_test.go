package restore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseOverwrite(t *testing.T) {
	for o := OverwriteAlways; o <= OverwriteNever; o++ {
		got, err := ParseOverwrite(o.String())
		if err != nil || got != o {
			t.Errorf("ParseOverwrite(%q) = %v, %v", o.String(), got, err)
		}
	}
	if _, err := ParseOverwrite("sometimes"); err == nil {
		t.Error("ParseOverwrite accepted an unknown mode")
	}
}

// TestOverwriteModes restores over existing entries that each mode treats
// differently. Every existing file holds "old!" (the snapshot's content is
// "new!", the same size) so that a replaced file is told apart by content.
func TestOverwriteModes(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, f.dir(t, "d", 0o755,
		f.textFile("same", 0o644, "new!"),                        // existing: same size and mtime
		f.textFile("older", 0o644, "new!"),                       // existing: older mtime
		f.textFile("newer", 0o644, "new!"),                       // existing: newer mtime
		f.textFile("wastdir", 0o644, "new!"),                     // existing: a directory (recent mtime)
		f.textFile("symlink", 0o644, "new!"),                     // existing: a symlink (recent mtime)
		f.textFile("missing", 0o644, "new!"),                     // not there yet
		f.dir(t, "wasfile", 0o755, f.textFile("in", 0o644, "x")), // existing: a file
	))
	setup := func(t *testing.T, target string) {
		d := filepath.Join(target, "d")
		if err := os.MkdirAll(filepath.Join(d, "wastdir", "child"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, mtime := range map[string]time.Time{"same": t0, "older": t0.Add(-time.Hour), "newer": t0.Add(time.Hour), "wasfile": t0.Add(-time.Hour)} {
			p := filepath.Join(d, name)
			if err := os.WriteFile(p, []byte("old!"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("same", filepath.Join(d, "symlink")); err != nil {
			t.Fatal(err)
		}
	}
	// replaced lists, per mode, which existing entries are replaced.
	cases := []struct {
		mode     Overwrite
		replaced map[string]bool
	}{
		{OverwriteAlways, map[string]bool{"same": true, "older": true, "newer": true, "wastdir": true, "symlink": true, "wasfile": true}},
		{OverwriteIfChanged, map[string]bool{"older": true, "newer": true, "wastdir": true, "symlink": true, "wasfile": true}},
		{OverwriteIfNewer, map[string]bool{"older": true, "wasfile": true}},
		{OverwriteNever, map[string]bool{}},
	}
	for _, c := range cases {
		t.Run(c.mode.String(), func(t *testing.T) {
			target := t.TempDir()
			setup(t, target)
			st := mustRestore(t, f, root, target, Options{Overwrite: c.mode})
			d := filepath.Join(target, "d")
			for _, name := range []string{"same", "older", "newer", "wastdir", "symlink", "missing"} {
				fi, err := os.Lstat(filepath.Join(d, name))
				if err != nil {
					t.Fatal(err)
				}
				isNew := fi.Mode().IsRegular() && string(readFile(t, filepath.Join(d, name))) == "new!"
				want := c.replaced[name] || name == "missing"
				if isNew != want {
					t.Errorf("%s: replaced=%v, want %v (mode %v)", name, isNew, want, fi.Mode())
				}
			}
			fi, err := os.Lstat(filepath.Join(d, "wasfile"))
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() != c.replaced["wasfile"] {
				t.Errorf("wasfile: directory=%v", fi.IsDir())
			}
			wantSkipped := int64(6 - len(c.replaced))
			if st.Skipped != wantSkipped {
				t.Errorf("skipped %d, want %d", st.Skipped, wantSkipped)
			}
		})
	}
}

// TestOverwriteNeverKeepsDirMetadata: an existing directory is reused; under
// OverwriteNever its mode stays, otherwise it gets the snapshot's.
func TestOverwriteDirMetadata(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, f.dir(t, "d", 0o750, f.textFile("x", 0o644, "x")))
	for _, mode := range []Overwrite{OverwriteNever, OverwriteAlways} {
		target := t.TempDir()
		if err := os.Mkdir(filepath.Join(target, "d"), 0o711); err != nil {
			t.Fatal(err)
		}
		mustRestore(t, f, root, target, Options{Overwrite: mode})
		want := os.FileMode(0o750)
		if mode == OverwriteNever {
			want = 0o711
		}
		fi, err := os.Stat(filepath.Join(target, "d"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%v: mode %v, want %v", mode, fi.Mode().Perm(), want)
		}
		if got := readFile(t, filepath.Join(target, "d", "x")); string(got) != "x" {
			t.Errorf("%v: x = %q", mode, got)
		}
	}
}

// TestRestoreTwiceIfChanged: a second restore with OverwriteIfChanged over a
// completed one skips every file, as nothing differs.
func TestRestoreTwiceIfChanged(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	target := t.TempDir()
	mustRestore(t, f, root, target, Options{})
	st := mustRestore(t, f, root, target, Options{Overwrite: OverwriteIfChanged})
	// Everything but the directories is skipped: 15 entries.
	if st.Files != 0 || st.Skipped != 15 {
		t.Errorf("second restore: %+v", st)
	}
	checkSparseContent(t, filepath.Join(target, "data", "sparse.img"))
}
