package index

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"cairn/internal/crypto"
)

// holdEnv makes the test binary, re-executed by startHolder, open the
// cache in the named directory, print "held", and keep it open until its
// stdin closes.
const holdEnv = "CAIRN_INDEX_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		os.Exit(holdCache(dir))
	}
	os.Exit(m.Run())
}

func holdCache(dir string) int {
	c, err := OpenCacheWith(dir, Options{LockWait: 10 * time.Millisecond})
	if err != nil || c.Private() {
		fmt.Printf("open failed: %v %v\n", err, c.FallbackReason())
		return 1
	}
	fmt.Println("held")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := c.Close(); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// startHolder starts a child process holding the cache in dir and returns
// once it does, with the child and the pipe that releases it when closed.
func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "held" {
		t.Fatalf("holder: %q %v", line, err)
	}
	return cmd, stdin
}

func TestCacheHeldByOtherProcess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	_, release := startHolder(t, dir)

	start := time.Now()
	c, err := OpenCacheWith(dir, Options{LockWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if !c.Private() || !errors.Is(c.FallbackReason(), ErrLocked) {
		t.Fatalf("Private=%v reason=%v, want private because locked", c.Private(), c.FallbackReason())
	}
	if waited < 300*time.Millisecond {
		t.Fatalf("fell back after %v, before the 300ms wait", waited)
	}
	pdir := c.Dir()
	if st, err := os.Stat(pdir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("private dir %s: %v %v, want mode 0700", pdir, st.Mode(), err)
	}
	// The private cache works, and stays apart from the shared one.
	rng := newRand(20)
	f, id := randFile(rng, 2, 2), randID(rng)
	if err := c.Add(id, f); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, f)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pdir); !os.IsNotExist(err) {
		t.Fatalf("private dir left behind after Close: %v", err)
	}

	// A holder that lets go within the wait: we get the shared cache.
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = release.Close()
	}()
	start = time.Now()
	c, err = OpenCacheWith(dir, Options{LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Private() || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("Private=%v (%v) after %v, want the shared cache after waiting", c.Private(), c.FallbackReason(), time.Since(start))
	}
	checkFiles(t, c)
}

func TestCacheHolderKilled(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	cmd, _ := startHolder(t, dir)
	// A process that dies without Close must not leave the cache locked.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	c := openTest(t, dir)
	if c.Private() {
		t.Fatalf("cache of a killed process still locked: %v", c.FallbackReason())
	}
	rng := newRand(21)
	f := randFile(rng, 1, 3)
	if err := c.Add(randID(rng), f); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, c, f)
}

func TestCacheSameDirInProcess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	c1 := openTest(t, dir)
	c2 := openTest(t, dir)
	if c1.Private() || !c2.Private() || !errors.Is(c2.FallbackReason(), ErrLocked) {
		t.Fatalf("first Private=%v, second Private=%v (%v); want shared, then private", c1.Private(), c2.Private(), c2.FallbackReason())
	}
	rng := newRand(22)
	f1, f2 := randFile(rng, 1, 2), randFile(rng, 1, 2)
	id1, id2 := randID(rng), randID(rng)
	if err := c1.Add(id1, f1); err != nil {
		t.Fatal(err)
	}
	if err := c2.Add(id2, f2); err != nil {
		t.Fatal(err)
	}
	checkGone(t, c1, f2.Packs...)
	checkGone(t, c2, f1.Packs...)
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	c3 := openTest(t, dir)
	if c3.Private() {
		t.Fatalf("reopen after both closed: private (%v)", c3.FallbackReason())
	}
	checkFiles(t, c3, id1)
	checkHolds(t, c3, f1)
}

// TestBadgerLocksInProcess pins what the design relies on beside our own
// flock: badger refuses a second Open of one directory, also in-process.
func TestBadgerLocksInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := badger.Open(badgerOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db2, err := badger.Open(badgerOptions(dir))
	if err == nil {
		_ = db2.Close()
		t.Fatal("second badger.Open of the same directory succeeded")
	}
}

func TestStalePrivateCachesRemoved(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "cache")
	old := time.Now().Add(-2 * staleAge)
	mk := func(name string, withLock bool) string {
		p := filepath.Join(parent, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if withLock {
			if err := os.WriteFile(filepath.Join(p, lockFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(p, lockFile), old, old); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := mk("cache"+privateInfix+"1", true)
	noLock := mk("cache"+privateInfix+"2", false)
	other := mk("othercache"+privateInfix+"3", true)
	young := filepath.Join(parent, "cache"+privateInfix+"4")
	if err := os.Mkdir(young, 0o700); err != nil {
		t.Fatal(err)
	}
	// A live private cache, old but locked by its owner.
	holder := openTest(t, dir)
	live := openTest(t, dir)
	if !live.Private() {
		t.Fatal("second cache not private")
	}
	if err := os.Chtimes(filepath.Join(live.Dir(), lockFile), old, old); err != nil {
		t.Fatal(err)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	c := openTest(t, dir)
	if c.Private() {
		t.Fatalf("shared cache not free: %v", c.FallbackReason())
	}
	for p, wantGone := range map[string]bool{stale: true, noLock: true, other: false, young: false, live.Dir(): false} {
		_, err := os.Stat(p)
		if gone := os.IsNotExist(err); gone != wantGone {
			t.Errorf("%s: gone=%v, want %v (%v)", filepath.Base(p), gone, wantGone, err)
		}
	}
	if _, ok, err := live.Lookup(crypto.ID{}); ok || err != nil {
		t.Fatalf("live private cache broken: %v", err)
	}
}
