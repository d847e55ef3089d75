package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cairn/repo/backend"
	"cairn/repo/backend/test"
)

func newTestBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := Create(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSuite(t *testing.T) {
	test.RunSuite(t, func(t *testing.T) backend.Backend { return newTestBackend(t) })
}

func TestCreateLayoutAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "repo")
	b, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"keys", "data", "data/00", "data/7f", "data/ff", "index", "snapshots", "locks"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("%s: %v", sub, err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want drwx------", sub, fi.Mode())
		}
	}
	ctx := context.Background()
	cases := map[backend.Handle]string{
		{Type: backend.ConfigFile, Name: "x"}:   "config",
		{Type: backend.PackFile, Name: "abcd"}:  "data/ab/abcd",
		{Type: backend.KeyFile, Name: "k1"}:     "keys/k1",
		{Type: backend.IndexFile, Name: "i1"}:   "index/i1",
		{Type: backend.SnapshotFile, Name: "s"}: "snapshots/s",
		{Type: backend.LockFile, Name: "l"}:     "locks/l",
	}
	for h, rel := range cases {
		if got, want := b.Path(h), filepath.Join(dir, rel); got != want {
			t.Errorf("Path(%v) = %s, want %s", h, got, want)
		}
		if err := b.Save(ctx, h, []byte("x")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatalf("Save(%v) did not write %s: %v", h, rel, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", rel, fi.Mode())
		}
	}
	if got := b.Path(backend.Handle{Type: backend.PackFile, Name: "a"}); got != "" {
		t.Errorf("Path of an invalid handle = %q, want empty", got)
	}
	if !strings.HasPrefix(b.Location(), "local:/") {
		t.Errorf("Location() = %q", b.Location())
	}
}

func TestOpen(t *testing.T) {
	tmp := t.TempDir()
	_, err := Open(filepath.Join(tmp, "missing"))
	if !backend.IsNotExist(err) {
		t.Errorf("Open(missing dir) = %v, want ErrNotExist", err)
	}
	_, err = Open(tmp)
	if !backend.IsNotExist(err) {
		t.Errorf("Open(dir without config) = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(tmp, "file")); err == nil || backend.IsNotExist(err) {
		t.Errorf("Open(regular file) = %v, want a not-a-directory error", err)
	}

	dir := filepath.Join(tmp, "repo")
	b, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Save(context.Background(), backend.Handle{Type: backend.ConfigFile}, []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a repository = %v, want fs.ErrExist", err)
	}
	b2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(repo): %v", err)
	}
	got, err := backend.LoadAll(context.Background(), b2, backend.Handle{Type: backend.ConfigFile})
	if err != nil || string(got) != "cfg" {
		t.Errorf("config via Open = %q, %v", got, err)
	}
}

// TestLeftoverTempFiles models a crash between create and rename: the
// temp file is invisible to List, Stat and Load, and the next Save works.
func TestLeftoverTempFiles(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	h := backend.Handle{Type: backend.PackFile, Name: "abcdef"}
	dir := filepath.Dir(b.Path(h))
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"ab-abcdef-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := b.List(ctx, backend.PackFile, func(backend.FileInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("List reported %d files, want the temp file skipped", n)
	}
	if _, err := b.Stat(ctx, h); !backend.IsNotExist(err) {
		t.Errorf("Stat = %v, want ErrNotExist", err)
	}
	if err := b.Save(ctx, h, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	got, err := backend.LoadAll(ctx, b, h)
	if err != nil || string(got) != "whole" {
		t.Errorf("LoadAll = %q, %v", got, err)
	}
}

// TestSaveRecreatesMissingSubdir covers a repository whose data/xx
// directory is missing (made by hand or by another tool).
func TestSaveRecreatesMissingSubdir(t *testing.T) {
	b := newTestBackend(t)
	h := backend.Handle{Type: backend.PackFile, Name: "zz99"}
	if err := os.RemoveAll(filepath.Dir(b.Path(h))); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(context.Background(), h, []byte("x")); err != nil {
		t.Fatalf("Save into a missing subdirectory: %v", err)
	}
}

// TestDiskFull fills a small tmpfs: Save must fail with a clear, permanent
// error wrapping ENOSPC and leave no temp file behind. Needs root (mount).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	b, err := Create(filepath.Join(mnt, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	small := backend.Handle{Type: backend.IndexFile, Name: "small"}
	if err := b.Save(ctx, small, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	h := backend.Handle{Type: backend.PackFile, Name: "ffee"}
	err = b.Save(ctx, h, make([]byte, 1<<20))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Save of 1 MiB into 256 KiB = %v, want ENOSPC", err)
	}
	if !backend.IsPermanent(err) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %q is not marked permanent or does not say the disk is full", err)
	}
	entries, err := os.ReadDir(filepath.Dir(b.Path(h)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind after failed Save: %s", e.Name())
	}
	if _, err := b.Stat(ctx, h); !backend.IsNotExist(err) {
		t.Errorf("Stat after failed Save = %v, want ErrNotExist", err)
	}
	// Space is back: the temp file was removed, so a small file fits again.
	if err := b.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: "after"}, make([]byte, 1000)); err != nil {
		t.Errorf("Save after freeing the temp file: %v", err)
	}
}
