package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cairn/sources/fs/fstest"
)

// mountProc is a `cairn mount` process serving a test repository.
type mountProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	out    *syncBuffer
	exited chan struct{}
}

// syncBuffer is a bytes.Buffer the process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func skipUnlessFUSE(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mount tests need root: /dev/fuse is root-only here")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("mount tests need /dev/fuse: %v", err)
	}
}

// startMount runs `cairn mount dir args...` and waits until it says it
// serves. (Polling the mount point is not enough after a SIGKILL: the
// kernel answers from its caches for a while.)
func (tr *testRepo) startMount(dir string, args ...string) *mountProc {
	tr.t.Helper()
	cmd := exec.Command(cairnBin, append(append([]string{"mount"}, args...), dir)...)
	cmd.Env = append(cleanEnv(), tr.env...)
	m := &mountProc{t: tr.t, cmd: cmd, dir: dir, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Start(); err != nil {
		tr.t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(m.exited)
	}()
	tr.t.Cleanup(m.stop)
	deadline := time.After(30 * time.Second)
	for {
		if strings.Contains(m.out.String(), "mounted at") {
			if _, err := os.Stat(filepath.Join(dir, "snapshots")); err != nil {
				tr.t.Fatalf("cairn mount says it serves, but: %v", err)
			}
			return m
		}
		select {
		case <-m.exited:
			tr.t.Fatalf("cairn mount exited: %v\n%s", cmd.ProcessState, m.out)
		case <-deadline:
			tr.t.Fatalf("cairn mount did not mount in time\n%s", m.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop unmounts with SIGTERM and waits; a test that killed the process
// leaves a stale mount, cleared here.
func (m *mountProc) stop() {
	select {
	case <-m.exited:
	default:
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(20 * time.Second):
			m.cmd.Process.Kill()
			<-m.exited
		}
	}
	if isMounted(m.dir) {
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
	}
}

func isMounted(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mounts")
	return strings.Contains(string(b), " "+dir+" fuse.cairn ")
}

// shell runs a pipeline in dir and returns its output.
func shell(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("in %s: %s: %v\n%s", dir, script, err, errb.String())
	}
	return out.String()
}

// makeSparseImage writes a 256 MiB file that is hole except for
// scattered runs of random data.
func makeSparseImage(t *testing.T, p string, rng *rand.Rand) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 256 << 20
	for i := 0; i < 40; i++ {
		b := make([]byte, rng.Intn(600<<10)+1)
		rng.Read(b)
		if _, err := f.WriteAt(b, rng.Int63n(size-int64(len(b)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// TestMount backs up the round-trip fixture, $GOROOT/src/net and a
// sparse disk image, mounts the repository with the real binary and
// checks, against the originals: every file's content and metadata via
// Go and via cat, ls -lR and find; random-range reads of the image;
// EROFS on writes; a backup while mounted showing up; recovery from a
// killed mount process; and a clean unmount on SIGTERM.
func TestMount(t *testing.T) {
	skipUnlessFUSE(t)
	tr := newTestRepo(t)
	// Other users must be able to reach the fixture, in the original and
	// so in the snapshot, for the --allow-other check.
	os.Chmod(filepath.Dir(tr.dir), 0o755)
	os.Chmod(tr.dir, 0o755)
	fixture := filepath.Join(tr.dir, "fixture")
	fstest.MakeFixture(t, fixture)
	gonet := filepath.Join(goroot(t), "src", "net")
	imgDir := filepath.Join(tr.dir, "img")
	os.Mkdir(imgDir, 0o755)
	rng := rand.New(rand.NewSource(6))
	makeSparseImage(t, filepath.Join(imgDir, "disk.img"), rng)
	first := tr.backup(fixture, gonet, imgDir).SnapshotID[:8]

	mnt := filepath.Join(tr.dir, "mnt")
	os.Mkdir(mnt, 0o755)
	m := tr.startMount(mnt)
	in := func(p string) string { return filepath.Join(mnt, "ids", first, p) }

	t.Run("go", func(t *testing.T) {
		fstest.CompareTrees(t, fixture, in(fixture))
		fstest.CompareTrees(t, gonet, in(gonet))
	})
	t.Run("cat", func(t *testing.T) {
		// One cat per file, in name order, hashed.
		const script = `find . -type f -print0 | sort -z | xargs -0 -n 50 cat | sha256sum`
		for _, dir := range []string{fixture, gonet} {
			if a, b := shell(t, dir, script), shell(t, in(dir), script); a != b {
				t.Errorf("%s: cat of every file differs through the mount", dir)
			}
		}
	})
	t.Run("ls", func(t *testing.T) {
		// "total" lines are allocation sums, which differ by design:
		// the mount reports the stored data, not the file system's blocks.
		// Directory sizes are not recorded in snapshots: the mount
		// shows 0, so the size column of directories is blanked; the
		// top directory's ".." is outside the tree compared; column
		// widths follow the widest entry, so spaces are normalised.
		const script = `ls -lRan --time-style=+%s.%N . | grep -v '^total ' | awk '$NF != ".." { if ($1 ~ /^d/) $5 = "-"; $1 = $1; print }'`
		for _, dir := range []string{fixture, gonet} {
			a, b := shell(t, dir, script), shell(t, in(dir), script)
			if a != b {
				t.Errorf("%s: ls -lR differs through the mount:\n%s", dir, firstDiff(a, b))
			}
		}
	})
	t.Run("find", func(t *testing.T) {
		const script = `{ find . ! -type d -printf '%y %m %n %U %G %s %T@ %C@ %p -> %l\0'
			find . -type d -printf '%y %m %n %U %G - %T@ %C@ %p\0'; } | sort -z | tr '\0' '\n'`
		for _, dir := range []string{fixture, gonet} {
			a, b := shell(t, dir, script), shell(t, in(dir), script)
			if a != b {
				t.Errorf("%s: find differs through the mount:\n%s", dir, firstDiff(a, b))
			}
		}
	})
	t.Run("sparse-random-reads", func(t *testing.T) {
		orig, err := os.Open(filepath.Join(imgDir, "disk.img"))
		if err != nil {
			t.Fatal(err)
		}
		defer orig.Close()
		f, err := os.Open(in(filepath.Join(imgDir, "disk.img")))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		a, b := make([]byte, 3<<20), make([]byte, 3<<20)
		for i := 0; i < 400; i++ {
			off, n := rng.Int63n(256<<20), rng.Intn(len(a))+1
			if i%2 == 0 {
				n = rng.Intn(4096) + 1
			}
			na, _ := orig.ReadAt(a[:n], off)
			nb, err := f.ReadAt(b[:n], off)
			if na != nb || !bytes.Equal(a[:na], b[:nb]) {
				t.Fatalf("read %d at %d: %d bytes (%v), original %d: differ", n, off, nb, err, na)
			}
		}
		shell(t, imgDir, "cmp disk.img "+in(filepath.Join(imgDir, "disk.img")))
	})
	t.Run("read-only", func(t *testing.T) {
		err := os.WriteFile(in(filepath.Join(fixture, "files/new")), []byte("x"), 0o644)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("create: %v, want EROFS", err)
		}
		_, err = os.OpenFile(in(filepath.Join(fixture, "files/one")), os.O_WRONLY, 0)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("open for writing: %v, want EROFS", err)
		}
	})
	t.Run("backup-while-mounted", func(t *testing.T) {
		src := filepath.Join(tr.dir, "later")
		os.Mkdir(src, 0o755)
		os.WriteFile(filepath.Join(src, "file"), []byte("made while mounted\n"), 0o644)
		s := tr.backup(src)
		short := s.SnapshotID[:8]
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := os.ReadFile(filepath.Join(mnt, "latest", src, "file"))
			if err == nil && string(got) == "made while mounted\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("new snapshot not under latest: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := os.Stat(filepath.Join(mnt, "ids", short, src, "file")); err != nil {
			t.Error(err)
		}
		target, _ := os.Readlink(filepath.Join(mnt, "snapshots", "latest"))
		if _, err := os.Stat(filepath.Join(mnt, "snapshots", target, src, "file")); err != nil {
			t.Errorf("snapshots/latest -> %q: %v", target, err)
		}
	})
	t.Run("kill-and-remount", func(t *testing.T) {
		m.cmd.Process.Kill()
		<-m.exited
		if _, err := os.Stat(mnt); !errors.Is(err, syscall.ENOTCONN) {
			t.Fatalf("after SIGKILL the mount point gives %v, want ENOTCONN", err)
		}
		m = tr.startMount(mnt, "--allow-other")
		if !strings.Contains(m.out.String(), "removed a stale mount") {
			t.Errorf("remount did not say it cleared the stale mount: %s", m.out)
		}
		if got, err := os.ReadFile(in(filepath.Join(fixture, "files/small.txt"))); err != nil || !strings.HasPrefix(string(got), "hello cairn") {
			t.Errorf("read after remount: %q %v", got, err)
		}
		// --allow-other: other users get in, with the original permissions.
		if _, err := exec.LookPath("runuser"); err == nil {
			out, err := exec.Command("runuser", "-u", "nobody", "--", "cat", in(filepath.Join(fixture, "files/small.txt"))).CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "hello cairn") {
				t.Errorf("nobody reading a 0644 file: %v %s", err, out)
			}
			out, err = exec.Command("runuser", "-u", "nobody", "--", "cat", in(filepath.Join(fixture, "perms/readonly"))).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Permission denied") {
				t.Errorf("nobody reading root's 0400 file: %v %s", err, out)
			}
		}
	})
	t.Run("sigterm-unmounts", func(t *testing.T) {
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(20 * time.Second):
			t.Fatal("mount did not exit on SIGTERM")
		}
		if code := m.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d after SIGTERM\n%s", code, m.out)
		}
		if isMounted(mnt) {
			t.Error("still mounted after SIGTERM")
		}
	})
}

// firstDiff shows the first differing line of two listings.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  original: %q\n  mount:    %q", i+1, x, y)
		}
	}
	return ""
}

func TestMountParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "512": 512, "64K": 64 << 10, "64KiB": 64 << 10, "64kb": 64 << 10,
		"64MiB": 64 << 20, "64M": 64 << 20, "1G": 1 << 30, "2GiB": 2 << 30, " 3 M ": 3 << 20,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1", "1.5G", "12X", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
