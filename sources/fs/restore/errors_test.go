package restore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

func TestRestoreDamagedBlob(t *testing.T) {
	f := newFakeRepo()
	bad := f.chunk(pattern4K('b'))
	f.damaged[bad.ID] = true
	badFile := file("bad.bin", 0o644, f.chunk(pattern4K('a')), bad, f.chunk(pattern4K('c')))
	badFile.Inode, badFile.Links = 9, 2
	badLink := file("bad.link", 0o644, badFile.Content...)
	badLink.Inode, badLink.Links = 9, 2
	root := f.saveTree(t, f.dir(t, "d", 0o755,
		f.textFile("a.txt", 0o644, "before"), badFile, badLink, f.textFile("z.txt", 0o644, "after")))
	target := t.TempDir()
	d := filepath.Join(target, "d")

	st, err := Restore(context.Background(), f, root, target, Options{Workers: 2})
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, errDamaged) {
		t.Fatalf("err = %v", err)
	}
	badPath := filepath.Join(d, "bad.bin")
	if !strings.Contains(err.Error(), badPath) || !strings.Contains(err.Error(), fakePack(bad.ID)) {
		t.Errorf("error does not name file and pack: %v", err)
	}
	if len(st.Errors) != 2 {
		t.Fatalf("errors: %v", st.Errors)
	}
	var re *Error
	if !errors.As(st.Errors[1], &re) || re.Path != filepath.Join(d, "bad.link") || re.Warning {
		t.Errorf("second error %v", st.Errors[1])
	}
	// The damaged file is cut where the damage starts and keeps mode 0600.
	fi, err := os.Lstat(badPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 4096 || fi.Mode().Perm() != 0o600 || fi.ModTime().Equal(t0) {
		t.Errorf("damaged file: size %d mode %v mtime %v", fi.Size(), fi.Mode(), fi.ModTime())
	}
	if _, err := os.Lstat(filepath.Join(d, "bad.link")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link to damaged file exists: %v", err)
	}
	// The rest was restored.
	if string(readFile(t, filepath.Join(d, "a.txt"))) != "before" || string(readFile(t, filepath.Join(d, "z.txt"))) != "after" {
		t.Error("other files not restored")
	}
	if st.Files != 2 {
		t.Errorf("files = %d", st.Files)
	}

	err = Dump(context.Background(), f, root, "/d/bad.bin", io.Discard)
	if !errors.Is(err, errDamaged) || !strings.Contains(err.Error(), "/d/bad.bin") || !strings.Contains(err.Error(), fakePack(bad.ID)) {
		t.Errorf("dump of damaged file: %v", err)
	}
}

func TestRestoreVerifyMismatch(t *testing.T) {
	f := newFakeRepo()
	c := f.chunk([]byte("original content"))
	root := f.saveTree(t, file("v.txt", 0o644, c), f.textFile("ok.txt", 0o644, "fine"))
	// The second load of the blob (by Verify) returns other bytes, as if
	// the file on disk had been written wrongly.
	f.mutate = func(id crypto.ID, n int, data []byte) []byte {
		if id == c.ID && n > 1 {
			return bytes.ToUpper(data)
		}
		return data
	}
	target := t.TempDir()
	st, err := Restore(context.Background(), f, root, target, Options{Verify: true})
	if !errors.Is(err, ErrVerify) || !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), filepath.Join(target, "v.txt")) {
		t.Fatalf("err = %v", err)
	}
	if len(st.Errors) != 1 {
		t.Errorf("errors: %v", st.Errors)
	}

	// Files changed on disk after they were written (from the progress
	// callback, which runs when each is done) fail Verify: by content and
	// by size.
	f.mutate = nil
	target = t.TempDir()
	tamper := map[string]func(string) error{
		filepath.Join(target, "v.txt"):  func(p string) error { return os.WriteFile(p, []byte("ORIGINAL content"), 0o644) },
		filepath.Join(target, "ok.txt"): func(p string) error { return os.Truncate(p, 2) },
	}
	st, err = Restore(context.Background(), f, root, target, Options{Verify: true, Workers: 1, Progress: func(p Progress) {
		if fn := tamper[p.Path]; fn != nil {
			delete(tamper, p.Path)
			if err := fn(p.Path); err != nil {
				t.Error(err)
			}
		}
	}})
	if !errors.Is(err, ErrVerify) || len(st.Errors) != 2 {
		t.Fatalf("err = %v, errors %v", err, st.Errors)
	}
	for _, e := range st.Errors {
		if !errors.Is(e, ErrVerify) {
			t.Errorf("not a verify error: %v", e)
		}
	}
}

func TestRestoreVerifyKeepsATime(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, f.textFile("a", 0o644, "content"))
	target := t.TempDir()
	mustRestore(t, f, root, target, Options{Verify: true})
	if a, _ := statTimes(lstat(t, filepath.Join(target, "a"))); !a.Equal(t1) {
		t.Errorf("atime after verify %v, want %v", a, t1)
	}
}

func TestRestoreWarningsDoNotFail(t *testing.T) {
	f := newFakeRepo()
	// Linux refuses user.* xattrs on symlinks.
	sym := &tree.Node{Name: "s", Type: tree.TypeSymlink, LinkTarget: "x", ModTime: t0,
		Xattrs: []tree.Xattr{{Name: "user.x", Value: []byte("1")}}}
	root := f.saveTree(t, sym)
	target := t.TempDir()
	st := mustRestore(t, f, root, target, Options{})
	var re *Error
	if len(st.Errors) != 1 || !errors.As(st.Errors[0], &re) || !re.Warning || re.Path != filepath.Join(target, "s") {
		t.Fatalf("errors: %v", st.Errors)
	}
	if st.Files != 1 {
		t.Errorf("files = %d", st.Files)
	}
}

// TestRestoreDoesNotFollowTargetSymlinks puts symlinks where the snapshot
// has a directory and a file: nothing may be written where they point.
func TestRestoreDoesNotFollowTargetSymlinks(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, f.dir(t, "d", 0o755,
		f.dir(t, "evil", 0o755, f.textFile("x", 0o644, "x")),
		f.textFile("evil2", 0o644, "y")))
	for _, mode := range []Overwrite{OverwriteAlways, OverwriteNever} {
		target, outside := t.TempDir(), t.TempDir()
		d := filepath.Join(target, "d")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(outside, "victim")
		if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(d, "evil")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(d, "evil2")); err != nil {
			t.Fatal(err)
		}
		mustRestore(t, f, root, target, Options{Overwrite: mode})
		if got := readFile(t, victim); string(got) != "keep" {
			t.Errorf("%v: victim = %q", mode, got)
		}
		if _, err := os.Lstat(filepath.Join(outside, "x")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: wrote through a symlinked directory", mode)
		}
		fi, err := os.Lstat(filepath.Join(d, "evil"))
		if err != nil {
			t.Fatal(err)
		}
		if (mode == OverwriteAlways) != fi.IsDir() {
			t.Errorf("%v: evil mode %v", mode, fi.Mode())
		}
	}
}

// badNameLoader serves trees that tree.Decode would reject, as a Loader
// that does not decode through it might.
type badNameLoader struct{ *fakeRepo }

func (b badNameLoader) LoadTree(ctx context.Context, id crypto.ID) (*tree.Tree, error) {
	return &tree.Tree{Nodes: []*tree.Node{
		{Name: "..", Type: tree.TypeFile},
		{Name: "a/b", Type: tree.TypeFile},
		{Name: "ok", Type: tree.TypeFile},
	}}, nil
}

func TestRestoreRejectsBadNames(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "t")
	st, err := Restore(context.Background(), badNameLoader{newFakeRepo()}, crypto.ID{}, target, Options{})
	if !errors.Is(err, ErrIncomplete) || len(st.Errors) != 2 || st.Files != 1 {
		t.Fatalf("err %v, stats %+v", err, st)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("something was written beside the target: %v", entries)
	}
}

func TestRestoreMissingSubtree(t *testing.T) {
	f := newFakeRepo()
	missing := crypto.Hash([]byte("nowhere"))
	root := f.saveTree(t,
		&tree.Node{Name: "gone", Type: tree.TypeDir, Mode: 0o755, Subtree: &missing},
		f.textFile("here", 0o644, "here"))
	target := t.TempDir()
	st, err := Restore(context.Background(), f, root, target, Options{})
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), filepath.Join(target, "gone")) {
		t.Fatalf("err = %v", err)
	}
	if st.Files != 1 || string(readFile(t, filepath.Join(target, "here"))) != "here" {
		t.Errorf("stats %+v", st)
	}
}

func TestRestoreFatalErrors(t *testing.T) {
	f := newFakeRepo()
	root := fullSnapshot(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Restore(ctx, f, root, t.TempDir(), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Restore(context.Background(), f, crypto.ID{1}, t.TempDir(), Options{}); err == nil {
		t.Error("missing root tree accepted")
	}
	if _, err := Restore(context.Background(), f, root, t.TempDir(), Options{Excludes: []string{"[a-"}}); err == nil {
		t.Error("bad pattern accepted")
	}
	if _, err := Restore(context.Background(), f, root, t.TempDir(), Options{Overwrite: 9}); err == nil {
		t.Error("bad overwrite mode accepted")
	}
}
