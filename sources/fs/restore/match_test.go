package restore

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestMatcherClassify(t *testing.T) {
	const dir, file = true, false
	cases := []struct {
		includes, excludes []string
		path               string
		isDir              bool
		want               selection
	}{
		{nil, nil, "/a/b", file, include},
		{nil, []string{"/a"}, "/a/b/c", file, skip},
		{nil, []string{"/a"}, "/ab", file, include},
		{nil, []string{"*.go"}, "/x/y/z.go", file, skip},
		{nil, []string{"*.go"}, "/x/y/z.go/inner", file, skip},
		{nil, []string{"*.go"}, "/x/y/z.goo", file, include},
		{nil, []string{"cache"}, "/home/u/cache", dir, skip},
		{nil, []string{"u/cache"}, "/home/u/cache/x", file, skip},
		{nil, []string{"cache/"}, "/home/u/cache", file, include},
		{nil, []string{"cache/"}, "/home/u/cache", dir, skip},
		{nil, []string{"cache/"}, "/home/u/cache/f", file, skip},
		{nil, []string{"/home/**/tmp"}, "/home/a/b/c/tmp", dir, skip},
		{nil, []string{"/home/**/tmp"}, "/home/tmp", dir, skip},
		{nil, []string{"/home/**/tmp"}, "/var/tmp", dir, include},
		{[]string{"/home/u/x/*.go"}, nil, "/home", dir, search},
		{[]string{"/home/u/x/*.go"}, nil, "/home/u/x", dir, search},
		{[]string{"/home/u/x/*.go"}, nil, "/home/u/x/a.go", file, include},
		{[]string{"/home/u/x/*.go"}, nil, "/home/u/x/a.c", file, skip},
		{[]string{"/home/u/x/*.go"}, nil, "/home/u/x/a.c", dir, skip},
		{[]string{"/home/u/x/*.go"}, nil, "/home/v", dir, skip},
		{[]string{"/home/u/x/*.go"}, nil, "/home/u", file, skip},
		{[]string{"/home/u"}, nil, "/home/u/deep/down", file, include},
		{[]string{"/home/u"}, []string{"*.o"}, "/home/u/deep/a.o", file, skip},
		{[]string{"*.go"}, nil, "/any/where", dir, search},
		{[]string{"*.go"}, nil, "/any/where", file, skip},
		{[]string{"/h?me/[uv]"}, nil, "/home/v", dir, include},
		{[]string{"/home/**"}, nil, "/home", dir, include},
		{[]string{"/"}, nil, "/x", file, include},
	}
	for _, c := range cases {
		m, err := newMatcher(c.includes, c.excludes)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.classify(splitPath(c.path), c.isDir); got != c.want {
			t.Errorf("includes %q excludes %q path %s (dir %v): got %d, want %d", c.includes, c.excludes, c.path, c.isDir, got, c.want)
		}
	}
	for _, bad := range []string{"[", "/a/[b-"} {
		if _, err := newMatcher([]string{bad}, nil); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
	if _, err := newMatcher(nil, []string{"/"}); err == nil {
		t.Error("excluding / accepted")
	}
}

// listTree returns the slash paths below dir, directories with a "/".
func listTree(t *testing.T, dir string) []string {
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestRestoreIncludeExclude(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t,
		f.dir(t, "home", 0o755,
			f.dir(t, "u", 0o700,
				f.dir(t, "x", 0o755, f.textFile("a.go", 0o644, "a"), f.textFile("b.c", 0o644, "b"),
					f.dir(t, "gen", 0o755, f.textFile("c.go", 0o644, "c"))),
				f.dir(t, "y", 0o755, f.textFile("d.txt", 0o644, "d")),
				f.dir(t, "empty", 0o755)),
			f.dir(t, "v", 0o755, f.textFile("e.go", 0o644, "e"))),
		f.dir(t, "etc", 0o755, f.textFile("passwd", 0o644, "p")))
	cases := []struct {
		name               string
		includes, excludes []string
		want               string
	}{
		{"all", nil, nil, "etc/ etc/passwd home/ home/u/ home/u/empty/ home/u/x/ home/u/x/a.go home/u/x/b.c home/u/x/gen/ home/u/x/gen/c.go home/u/y/ home/u/y/d.txt home/v/ home/v/e.go"},
		{"anchored glob", []string{"/home/u/x/*.go"}, nil, "home/ home/u/ home/u/x/ home/u/x/a.go"},
		{"bare name anywhere", []string{"*.go"}, nil, "home/ home/u/ home/u/x/ home/u/x/a.go home/u/x/gen/ home/u/x/gen/c.go home/v/ home/v/e.go"},
		{"doublestar", []string{"/home/**/*.go"}, []string{"gen"}, "home/ home/u/ home/u/x/ home/u/x/a.go home/v/ home/v/e.go"},
		{"directory with contents", []string{"/home/u/y", "/home/u/empty"}, nil, "home/ home/u/ home/u/empty/ home/u/y/ home/u/y/d.txt"},
		{"exclude only", nil, []string{"/home/u", "passwd"}, "etc/ home/ home/v/ home/v/e.go"},
		{"nothing matches", []string{"/nope/*"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := t.TempDir()
			mustRestore(t, f, root, target, Options{Includes: c.includes, Excludes: c.excludes})
			if got := strings.Join(listTree(t, target), " "); got != c.want {
				t.Errorf("restored\n  %s\nwant\n  %s", got, c.want)
			}
		})
	}
	// Lazily created parents get their snapshot metadata too.
	target := t.TempDir()
	mustRestore(t, f, root, target, Options{Includes: []string{"a.go"}})
	if fi, err := os.Stat(filepath.Join(target, "home", "u")); err != nil || fi.Mode().Perm() != 0o700 || !fi.ModTime().Equal(t0) {
		t.Errorf("parent of included file: %v %v", fi, err)
	}
}

func TestLookup(t *testing.T) {
	f := newFakeRepo()
	root := f.saveTree(t, f.dir(t, "a", 0o755, f.dir(t, "b", 0o700, f.textFile("c", 0o644, "c"))))
	ctx := t.Context()
	for _, p := range []string{"/a/b/c", "a/b/c", "/a//b/./c", "/a/b/../b/c"} {
		n, err := Lookup(ctx, f, root, p)
		if err != nil || n.Name != "c" || n.Type != "file" {
			t.Errorf("Lookup(%q) = %v, %v", p, n, err)
		}
	}
	n, err := Lookup(ctx, f, root, "/a/b")
	if err != nil || n.Mode != 0o700 || n.Subtree == nil {
		t.Errorf("Lookup dir = %+v, %v", n, err)
	}
	n, err = Lookup(ctx, f, root, "/")
	if err != nil || n.Subtree == nil || *n.Subtree != root {
		t.Errorf("Lookup root = %+v, %v", n, err)
	}
	if _, err := Lookup(ctx, f, root, "/a/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := Lookup(ctx, f, root, "/a/b/c/d"); !errors.Is(err, ErrNotDir) {
		t.Errorf("through a file: %v", err)
	}
}
