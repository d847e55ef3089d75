package fstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// recorder collects CompareTrees' complaints instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// compare runs CompareTrees on its own goroutine, where Fatalf may exit.
func compare(t *testing.T, a, b string) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		CompareTrees(r, a, b)
	}()
	<-done
	return r.msgs
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("cp", "-a", "--sparse=always", src, dst).CombinedOutput()
	if err != nil {
		t.Skipf("cp -a unavailable: %v %s", err, out)
	}
}

func TestFixtureEqualsItsCopy(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	MakeFixture(t, a)
	copyTree(t, a, b)
	if msgs := compare(t, a, b); len(msgs) > 0 {
		t.Fatalf("a cp -a copy differs:\n%s", strings.Join(msgs, "\n"))
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(a, "links/sub/hard2"), &st); err != nil || st.Nlink != 3 {
		t.Errorf("hardlink count %d (%v), want 3", st.Nlink, err)
	}
	if err := unix.Lstat(filepath.Join(a, "sparse/middle-hole.img"), &st); err != nil || st.Blocks*512 > 4<<20 {
		t.Errorf("sparse file allocates %d bytes (%v), want about 1.1 MiB", st.Blocks*512, err)
	}
}

// TestCompareTreesNoticesDifferences breaks a copy of the fixture in each
// of the ways CompareTrees promises to notice.
func TestCompareTreesNoticesDifferences(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	MakeFixture(t, a)
	cases := []struct {
		name   string
		break_ func(b string) error
		want   string
	}{
		{"mode", func(b string) error { return os.Chmod(filepath.Join(b, "perms/setuid"), 0o755) }, "mode"},
		{"owner", func(b string) error { return os.Lchown(filepath.Join(b, "files/one"), 99, 99) }, "owner"},
		{"mtime ns", func(b string) error {
			p := filepath.Join(b, "files/one")
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				return err
			}
			st.Mtim.Nsec++
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, 0)
		}, "mtime"},
		{"content", func(b string) error {
			f, err := os.OpenFile(filepath.Join(b, "files/several-chunks"), os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{1, 2, 3}, 2<<20)
			return err
		}, "content differs"},
		{"missing", func(b string) error { return os.Remove(filepath.Join(b, "files/empty")) }, "missing"},
		{"extra", func(b string) error { return os.WriteFile(filepath.Join(b, "files/new"), nil, 0o644) }, "but not in"},
		{"symlink", func(b string) error {
			p := filepath.Join(b, "symlinks/dangling")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("elsewhere", p)
		}, "symlink target"},
		{"xattr", func(b string) error {
			return unix.Lsetxattr(filepath.Join(b, "files/page"), "user.new", []byte("v"), 0)
		}, "xattr"},
		{"hardlink broken", func(b string) error {
			p := filepath.Join(b, "links/sub/hard2")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.WriteFile(p, data, 0o644)
		}, "not hardlinked"},
		{"hardlink added", func(b string) error {
			p := filepath.Join(b, "files/one")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Link(filepath.Join(b, "names/-dash"), p)
		}, "which it is not"},
		{"device", func(b string) error {
			p := filepath.Join(b, "special/chardev")
			if _, err := os.Lstat(p); err != nil {
				return errSkip
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))
		}, "device"},
		{"dense", func(b string) error {
			return exec.Command("cp", "--sparse=never", filepath.Join(a, "sparse/middle-hole.img"),
				filepath.Join(b, "sparse/middle-hole.img")).Run()
		}, "holes not restored"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := filepath.Join(dir, fmt.Sprint("b", i))
			copyTree(t, a, b)
			if err := tc.break_(b); err == errSkip {
				t.Skip("not applicable here")
			} else if err != nil {
				t.Fatal(err)
			}
			msgs := compare(t, a, b)
			joined := strings.Join(msgs, "\n")
			if !strings.Contains(joined, tc.want) {
				t.Errorf("CompareTrees said %q, want a complaint containing %q", joined, tc.want)
			}
			os.RemoveAll(b)
		})
	}
}

var errSkip = fmt.Errorf("skip")
