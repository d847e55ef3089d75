package fs

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
)

// TestLargeFileSplit: a file above the large-file threshold is chunked by
// chunker.Split into exactly the chunks a sequential chunker gives.
func TestLargeFileSplit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "large")
	data := make([]byte, 24<<20+777)
	rand.New(rand.NewSource(3)).Read(data)
	writeFile(t, p, data)
	r := newMemRepo()
	res := backup(t, r, []string{p}, Options{Workers: 4, largeFile: 4 << 20})
	n := snapshot(t, r, res.Root)[p]
	if got := r.content(t, n); string(got) != string(data) {
		t.Fatalf("content differs")
	}
	var want []crypto.ID
	c := chunker.New(readerOf(t, p), testParams())
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, crypto.Hash(ch.Data))
	}
	if len(n.Content) != len(want) {
		t.Fatalf("%d chunks, sequential chunking gives %d", len(n.Content), len(want))
	}
	for i := range want {
		if n.Content[i].ID != want[i] {
			t.Fatalf("chunk %d differs from sequential chunking", i)
		}
	}
	// Split reads every chunk twice (its segments keep boundaries only)
	// and re-reads around segment joins; BytesRead counts the content once.
	if br := res.Stats.BytesRead; br != int64(len(data)) {
		t.Errorf("BytesRead %d for a %d byte file", br, len(data))
	}
}

// TestSameTreeAnyConcurrency: files completing out of order (saves of
// random duration, many files in flight, large files split in parallel)
// give the same snapshot, tree for tree, as one worker chunking everything
// sequentially.
func TestSameTreeAnyConcurrency(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(5))
	for d := 0; d < 4; d++ {
		sub := filepath.Join(dir, fmt.Sprint("d", d))
		mkdirs(t, filepath.Join(sub, "nested"))
		for i := 0; i < 30; i++ {
			data := make([]byte, rng.Intn(300<<10))
			rng.Read(data)
			writeFile(t, filepath.Join(sub, fmt.Sprint("f", i)), data)
		}
		big := make([]byte, 6<<20+rng.Intn(1<<20))
		rng.Read(big)
		writeFile(t, filepath.Join(sub, "nested", "big"), big)
	}
	if err := os.Link(filepath.Join(dir, "d0", "f1"), filepath.Join(dir, "d3", "link")); err != nil {
		t.Fatal(err)
	}
	seqRepo := newMemRepo()
	sequential := backup(t, seqRepo, []string{dir}, Options{Workers: 1})
	r := newMemRepo()
	r.onSave = func(context.Context) { time.Sleep(time.Duration(mrand.IntN(2000)) * time.Microsecond) }
	concurrent := backup(t, r, []string{dir}, Options{Workers: 4, largeFile: 2 << 20})
	// The trees above dir hold the metadata of shared directories such as
	// /tmp, which other processes change: compare dir's own tree.
	want, got := snapshot(t, seqRepo, sequential.Root)[dir].Subtree, snapshot(t, r, concurrent.Root)[dir].Subtree
	if *got != *want {
		t.Fatalf("tree %s with 4 workers, %s with one", got.Short(), want.Short())
	}
	if concurrent.Stats.BytesRead != sequential.Stats.BytesRead || concurrent.Stats.TotalFiles != 125 {
		t.Errorf("read %d bytes of %d files, sequentially %d bytes", concurrent.Stats.BytesRead,
			concurrent.Stats.TotalFiles, sequential.Stats.BytesRead)
	}
}

func readerOf(t *testing.T, p string) io.Reader {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestRegions checks hole detection, including that holes shorter than
// minHole are read as data.
func TestRegions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const mib = 1 << 20
	for _, off := range []int64{0, 4 * mib, 4*mib + 8192 /* after a 4 KiB hole */} {
		if _, err := f.WriteAt(make([]byte, 4096), off); err != nil {
			t.Fatal(err)
		}
		// Written zeros are data: the file system stores them.
	}
	if err := f.Truncate(10 * mib); err != nil {
		t.Fatal(err)
	}
	type reg struct {
		off, n int64
		hole   bool
	}
	var got []reg
	err = regions(int(f.Fd()), 10*mib, func(off, n int64, hole bool) error {
		got = append(got, reg{off, n, hole})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []reg{{0, 4096, false}, {4096, 4*mib - 4096, true}, {4 * mib, 12288, false}, {4*mib + 12288, 6*mib - 12288, true}}
	if !isSparse(t, p) {
		want = []reg{{0, 10 * mib, false}}
	}
	if len(got) != len(want) {
		t.Fatalf("regions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("regions %v, want %v", got, want)
		}
	}
}

// TestMultiplePaths: several paths, duplicates and nesting merge into one
// root tree that mirrors the absolute paths.
func TestMultiplePaths(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "a/x"), filepath.Join(dir, "b/c"), filepath.Join(dir, "b/d"), filepath.Join(dir, "a b"))
	writeFile(t, filepath.Join(dir, "a/x/f"), []byte("f"))
	writeFile(t, filepath.Join(dir, "b/c/g"), []byte("g"))
	writeFile(t, filepath.Join(dir, "b/d/h"), []byte("h"))
	writeFile(t, filepath.Join(dir, "a b/i"), []byte("i"))
	t.Chdir(dir)
	r := newMemRepo()
	res := backup(t, r, []string{"a", filepath.Join(dir, "a/x"), "./a/", "b/c", filepath.Join(dir, "a b", "i")}, Options{})
	all := snapshot(t, r, res.Root)
	got := sortedKeys(under(all, dir))
	want := []string{"a", "a b", "a b/i", "a/x", "a/x/f", "b", "b/c", "b/c/g"}
	if !equalStrings(got, want) {
		t.Errorf("snapshot %q, want %q", got, want)
	}
	checkNode(t, filepath.Join(dir, "b"), all[filepath.Join(dir, "b")])
	if res.Stats.FilesNew != 3 {
		t.Errorf("FilesNew %d, want 3 (each file once)", res.Stats.FilesNew)
	}
	if _, err := Backup(t.Context(), r, nil, Options{Chunker: testParams()}); err == nil {
		t.Errorf("no paths accepted")
	}
	// A missing path is an error in the snapshot, not a failed backup.
	res = backup(t, r, []string{filepath.Join(dir, "missing"), filepath.Join(dir, "a")}, Options{})
	if !res.Partial || len(res.Stats.Errors) != 1 || res.Stats.FilesNew != 1 {
		t.Errorf("missing path: partial=%v errors=%v files=%d", res.Partial, res.Stats.Errors, res.Stats.FilesNew)
	}
}

// TestProgress: the callback runs, never concurrently, and its last call
// has the final counts.
func TestProgress(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		writeFile(t, filepath.Join(dir, string(rune('a'+i))), make([]byte, 1000*i))
	}
	var calls, inside atomic.Int64
	var last Progress
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{Progress: func(p Progress) {
		if inside.Add(1) != 1 {
			t.Errorf("Progress called concurrently")
		}
		calls.Add(1)
		last = p
		inside.Add(-1)
	}})
	if calls.Load() == 0 {
		t.Fatal("Progress never called")
	}
	if last.FilesDone != 20 || last.BytesDone != 190000 || last.BytesRead != res.Stats.BytesRead ||
		!last.ScanDone || last.TotalFiles != 20 || last.TotalBytes != 190000 {
		t.Errorf("last progress %+v, want 20 files and 190000 bytes done and scanned", last)
	}
}

// TestEmptyFileHasNoChunks: an empty file's node has no chunk at all (not
// one empty blob), however its content is read.
func TestEmptyFileHasNoChunks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), nil)
	writeFile(t, filepath.Join(dir, "one"), []byte{1})
	r := newMemRepo()
	res := backup(t, r, []string{dir}, Options{})
	nodes := under(snapshot(t, r, res.Root), dir)
	if n := nodes["empty"]; n == nil || n.Size != 0 || len(n.Content) != 0 {
		t.Errorf("empty file node %+v, want no content", n)
	}
	if n := nodes["one"]; n == nil || len(n.Content) != 1 || n.Content[0].Size != 1 {
		t.Errorf("one-byte file node %+v, want one chunk", n)
	}
}
