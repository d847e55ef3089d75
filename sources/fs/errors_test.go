package fs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cairn/repo/tree"
)

// unreadableReport is what TestHelperUnprivileged prints for its parent.
type unreadableReport struct {
	Partial bool
	Errors  []string
	Nodes   map[string]*tree.Node
}

// TestUnreadableEntries makes a file and a directory unreadable (mode 0)
// and backs them up as an unprivileged user: as root in a child process
// running as nobody, since root reads anything.
func TestUnreadableEntries(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "locked"))
	writeFile(t, filepath.Join(dir, "ok.txt"), []byte("readable"))
	writeFile(t, filepath.Join(dir, "secret"), []byte("unreadable"))
	writeFile(t, filepath.Join(dir, "locked/inner"), []byte("hidden"))
	for _, p := range []string{"secret", "locked"} {
		if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755) })

	var rep unreadableReport
	if os.Geteuid() != 0 {
		rep = unreadableBackup(t, dir)
	} else {
		rep = runAsNobody(t, dir)
	}
	if !rep.Partial {
		t.Errorf("backup not partial")
	}
	joined := strings.Join(rep.Errors, "\n")
	for _, p := range []string{"secret", "locked"} {
		if !strings.Contains(joined, filepath.Join(dir, p)+":") {
			t.Errorf("errors %q do not name %s", rep.Errors, p)
		}
	}
	if len(rep.Errors) != 2 {
		t.Errorf("errors %q, want two", rep.Errors)
	}
	sec, locked, ok := rep.Nodes["secret"], rep.Nodes["locked"], rep.Nodes["ok.txt"]
	if sec == nil || sec.Error == "" || len(sec.Content) != 0 || sec.Size != 10 {
		t.Errorf("unreadable file node %+v, want metadata, an error and no content", sec)
	}
	if locked == nil || locked.Error == "" || locked.Type != tree.TypeDir || rep.Nodes["locked/inner"] != nil {
		t.Errorf("unreadable directory node %+v, want kept empty with an error", locked)
	}
	if ok == nil || ok.Error != "" || len(ok.Content) != 1 {
		t.Errorf("readable file node %+v", ok)
	}
}

// unreadableBackup backs up dir and reports the result.
func unreadableBackup(t *testing.T, dir string) unreadableReport {
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{})
	rep := unreadableReport{Partial: res.Partial, Nodes: under(snapshot(t, r, res.Root), dir)}
	for _, err := range res.Stats.Errors {
		rep.Errors = append(rep.Errors, err.Error())
	}
	return rep
}

const helperEnv = "CAIRN_FS_TEST_UNPRIVILEGED_DIR"

// TestHelperUnprivileged is the child of TestUnreadableEntries; it does
// nothing in a normal run.
func TestHelperUnprivileged(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestUnreadableEntries")
	}
	rep := unreadableBackup(t, dir)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(append(append([]byte("REPORT "), b...), '\n'))
}

// runAsNobody runs TestHelperUnprivileged as uid/gid 65534 on a copy of
// the test binary that nobody may execute.
func runAsNobody(t *testing.T, dir string) unreadableReport {
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("no test binary path: %v", err)
	}
	bindir, err := os.MkdirTemp("", "cairn-fs-helper")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bindir) })
	bin := filepath.Join(bindir, "fs.test")
	copyFile(t, exe, bin)
	for _, p := range []string{bindir, dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperUnprivileged$", "-test.count=1", "-test.v")
	cmd.Env = []string{helperEnv + "=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "REPORT "); ok {
			var rep unreadableReport
			if err := json.Unmarshal([]byte(rest), &rep); err != nil {
				t.Fatal(err)
			}
			return rep
		}
	}
	t.Fatalf("helper printed no report:\n%s", out)
	return unreadableReport{}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestVanishedFile removes a file between its lstat and its open, as a
// concurrent writer would: the node keeps its metadata and an error.
func TestVanishedFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stays"), []byte("stays"))
	gone := filepath.Join(dir, "goes")
	writeFile(t, gone, []byte("goes away"))
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{hooks: &testHooks{beforeOpen: func(p string) {
		if p == gone {
			os.Remove(p)
		}
	}}})
	if !res.Partial || len(res.Stats.Errors) != 1 || !errors.Is(res.Stats.Errors[0], os.ErrNotExist) ||
		!strings.Contains(res.Stats.Errors[0].Error(), gone) {
		t.Fatalf("partial=%v errors %v, want one not-exist error naming %s", res.Partial, res.Stats.Errors, gone)
	}
	nodes := under(snapshot(t, r, res.Root), dir)
	if n := nodes["goes"]; n == nil || n.Error == "" || n.Size != 9 || n.Content != nil {
		t.Errorf("vanished file node %+v", n)
	}
	if n := nodes["stays"]; n == nil || n.Error != "" {
		t.Errorf("other file node %+v", n)
	}
}

// TestFileShrinks truncates a file between its lstat and its read: the
// content is not what was stat'ed, so the node gets an error, no content.
func TestFileShrinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	writeFile(t, p, make([]byte, 300<<10))
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{hooks: &testHooks{beforeOpen: func(string) {
		os.Truncate(p, 100<<10)
	}}})
	n := under(snapshot(t, r, res.Root), dir)["log"]
	if !res.Partial || len(res.Stats.Errors) != 1 || !strings.Contains(res.Stats.Errors[0].Error(), "shrank") ||
		n == nil || n.Error == "" || n.Content != nil {
		t.Errorf("partial=%v errors=%v node=%+v, want a shrank error on a node without content", res.Partial, res.Stats.Errors, n)
	}
	// The next backup reads it again, though size and times now match
	// nothing stored.
	res2 := backup(t, r, []string{dir}, Options{ParentRoot: &res.Root})
	if res2.Partial || res2.Stats.BytesRead != 100<<10 {
		t.Errorf("next backup: partial=%v read %d, want complete and 100 KiB", res2.Partial, res2.Stats.BytesRead)
	}
}

// TestSmallFileShrinks: the same for a file read with one pread and no
// second fstat, and for one that fits in a file's first block.
func TestSmallFileShrinks(t *testing.T) {
	for _, size := range []int{3000, 70 << 10} {
		dir := t.TempDir()
		p := filepath.Join(dir, "small")
		writeFile(t, p, make([]byte, size))
		r := newMemRepo()
		res := backup(t, r, []string{dir}, Options{hooks: &testHooks{beforeOpen: func(string) {
			os.Truncate(p, int64(size/3))
		}}})
		n := under(snapshot(t, r, res.Root), dir)["small"]
		if !res.Partial || len(res.Stats.Errors) != 1 || !strings.Contains(res.Stats.Errors[0].Error(), "shrank") ||
			n == nil || n.Error == "" || n.Content != nil {
			t.Errorf("%d bytes: partial=%v errors=%v node=%+v, want a shrank error on a node without content", size, res.Partial, res.Stats.Errors, n)
		}
	}
}

// TestBoundedConcurrency: with slow saves, the chunks being saved never
// exceed Workers+1, however many files there are.
func TestBoundedConcurrency(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 40; i++ {
		b := make([]byte, 200<<10)
		b[0], b[1] = byte(i), 1 // distinct files
		writeFile(t, filepath.Join(dir, fmt.Sprint(i)), b)
	}
	r := newMemRepo()
	r.delay = 2 * time.Millisecond
	backup(t, r, []string{dir}, Options{Workers: 3})
	if m := r.maxInFlight.Load(); m > 4 || m < 2 {
		t.Errorf("%d concurrent data saves, want 2..4 with 3 workers", m)
	}
}

// TestRepositoryFailureAborts: a failing SaveBlob is not a partial
// snapshot but an error.
func TestRepositoryFailureAborts(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 50; i++ {
		writeFile(t, filepath.Join(dir, string(rune('a'+i%26))+strings.Repeat("x", i)), []byte(strings.Repeat("y", 100+i)))
	}
	r := newMemRepo()
	r.failAfter = 10
	res, err := Backup(context.Background(), r, []string{dir}, Options{Chunker: testParams()})
	if !errors.Is(err, errInjected) || res != nil {
		t.Fatalf("Backup = %v, %v; want the injected error", res, err)
	}
}

// TestCancel cancels a backup of a large file mid-way: Backup returns
// promptly with the context's error.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		buf[0] = byte(i) // every MiB differs, so nothing dedups early
		for j := range buf {
			buf[j] ^= byte(j * i)
		}
		f.Write(buf)
	}
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newMemRepo()
	var cancelled time.Time
	var once sync.Once
	r.onSave = func(context.Context) {
		if r.dataSaves.Load() >= 5 {
			once.Do(func() {
				cancelled = time.Now()
				cancel()
			})
		}
	}
	_, err = Backup(ctx, r, []string{dir}, Options{Chunker: testParams(), Workers: 2, largeFile: 8 << 20})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup after cancel: %v, want context.Canceled", err)
	}
	if d := time.Since(cancelled); d > time.Second {
		t.Errorf("Backup returned %v after cancel", d)
	}
	if n := r.dataSaves.Load(); n > 100 {
		t.Errorf("%d blobs saved after cancelling at the 5th", n)
	}
}
