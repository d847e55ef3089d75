package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cairn/repo"
	"cairn/repo/backend/local"
	"cairn/sources/stream"
)

// requireTools skips the test when a program is missing, or fails it when
// CAIRN_REQUIRE_DB=1 (CI): then a missing server is a broken setup.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			continue
		}
		if _, err := tool(Conn{}, n); err == nil {
			continue
		}
		msg := fmt.Sprintf("%s not installed (run scripts/db-deps.sh)", n)
		if os.Getenv("CAIRN_REQUIRE_DB") == "1" {
			t.Fatal(msg + "; CAIRN_REQUIRE_DB=1")
		}
		t.Skip(msg)
	}
}

// freePort returns a TCP port free on loopback right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sh runs a command and fails the test on error.
func sh(t *testing.T, env []string, stdin string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

func testRepo(t *testing.T) *repo.Repository {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, "pw", repo.InitOptions{
		Options: repo.Options{CacheDir: filepath.Join(dir, "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func snapshotCount(t *testing.T, r *repo.Repository) int {
	t.Helper()
	ids, err := r.SnapshotIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

func backup(t *testing.T, r *repo.Repository, c Conn, opts Options) (*repo.Snapshot, error) {
	t.Helper()
	opts.Save = stream.SaveOptions{Chunker: r.ChunkerParams()}
	return Backup(context.Background(), stream.Repository{Repository: r}, c, opts)
}

// restoreSnapshot streams sn back through Restore.
func restoreSnapshot(t *testing.T, r *repo.Repository, sn *repo.Snapshot, c Conn, target string) {
	t.Helper()
	ctx := context.Background()
	src, err := SourceOf(sn)
	if err != nil {
		t.Fatal(err)
	}
	sr := stream.Repository{Repository: r}
	n, err := stream.Find(ctx, sr, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	rd := stream.Reader(ctx, sr, n)
	defer rd.Close()
	if err := Restore(ctx, c, src, rd, RestoreOptions{Target: target}); err != nil {
		t.Fatal(err)
	}
}

// fixture is one engine's test server and data.
type fixture interface {
	conn(db string) Conn
	seed(t *testing.T, db string)
	change(t *testing.T, db string) // ~1% of rows
	checksums(t *testing.T, db string) map[string]string
	// target is what restore is given to create database db.
	target(db string) string
}

// incrementalAndRestore is the common "done means" test: back up a seeded
// database, change ~1% of the rows, back up again (the second snapshot must
// add well under 20% of the dump), restore into a fresh database and
// compare per-table row counts and checksums.
func incrementalAndRestore(t *testing.T, f fixture, restoreTarget string) {
	r := testRepo(t)
	f.seed(t, "shop")
	c := f.conn("shop")
	sn1, err := backup(t, r, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := SourceOf(sn1)
	if src.ServerVersion == "" || src.Dump.ExitCode != 0 {
		t.Fatalf("source details %+v", src)
	}
	f.change(t, "shop")
	sn2, err := backup(t, r, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pct := 100 * float64(sn2.Summary.BytesAddedRaw) / float64(sn2.Summary.TotalBytes)
	t.Logf("%s: dump %d bytes; first backup added %d, second added %d raw (%.1f%% of the dump) in %d new chunks, %d stored",
		c.Engine, sn2.Summary.TotalBytes, sn1.Summary.BytesAddedRaw, sn2.Summary.BytesAddedRaw, pct, sn2.Summary.BlobsNew, sn2.Summary.BytesAdded)
	// A changed region costs one to three chunks (1.5 MiB on average, the
	// polynomial is random per repository), so the fixtures' dumps are
	// 55-100 MB: large enough that those chunks stay well under 20%.
	if pct >= 20 {
		t.Errorf("second backup added %.1f%% of the dump (%d bytes, %d chunks), want well under 20%%", pct, sn2.Summary.BytesAddedRaw, sn2.Summary.BlobsNew)
	}
	want := f.checksums(t, "shop")
	restoreSnapshot(t, r, sn2, f.conn(restoreTarget), f.target(restoreTarget))
	got := f.checksums(t, restoreTarget)
	if len(want) == 0 || fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("restored database differs:\nwant %v\n got %v", want, got)
	}
}

// hashString is a short hex digest of s for table checksums.
func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// checkFailures backs up each of bad, then good with the dump process
// killed after killAfter: every one must fail (the killed one with an
// ExitError), leave no snapshot and no credential file.
func checkFailures(t *testing.T, good Conn, bad map[string]Conn, killAfter time.Duration) {
	t.Helper()
	r := testRepo(t)
	tmp := t.TempDir()
	for name, c := range bad {
		_, err := backup(t, r, c, Options{TempDir: tmp})
		if err == nil {
			t.Fatalf("%s: backup succeeded", name)
		}
		t.Logf("%s: %v", name, err)
	}
	_, err := backup(t, r, good, Options{TempDir: tmp, onStart: func(pid int, _ string) {
		go func() { time.Sleep(killAfter); syscall.Kill(pid, syscall.SIGKILL) }()
	}})
	var ee *stream.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("killed dump: %v", err)
	}
	if n := snapshotCount(t, r); n != 0 {
		t.Fatalf("%d snapshots after failed dumps", n)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
		t.Fatalf("credential files left behind: %v", left)
	}
}
