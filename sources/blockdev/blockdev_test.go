package blockdev

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"cairn/chunker"
	"cairn/repo/tree"
)

const mib = 1 << 20

// makeImage writes a sparse image: random data, a hole, more random data,
// written zeros, random data at the end.
func makeImage(t *testing.T, path string) []byte {
	t.Helper()
	img := make([]byte, 48*mib)
	copy(img[0:], randBytes(1, 12*mib))
	copy(img[24*mib:], randBytes(2, 8*mib))
	copy(img[40*mib:], randBytes(3, 8*mib))
	writeAt(t, path, 0, img[:12*mib])
	writeAt(t, path, 24*mib, img[24*mib:40*mib]) // includes 8 MiB of written zeros
	writeAt(t, path, 40*mib, img[40*mib:])
	return img
}

func TestFullBackupSparseRestore(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	src := tempPath(t, "disk.img")
	img := makeImage(t, src)

	// Parallel segments read allocated data twice (boundaries first, then
	// the chunks as they are emitted), so the exact count is checked on a
	// single stream and the parallel run only against twice that.
	single, err := Backup(ctx, r, src, Options{Chunker: r.ChunkerParams(), SplitWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The 12 MiB hole is not read; written zeros are.
	if single.BytesRead != 36*mib {
		t.Errorf("single stream read %d bytes, want 36 MiB (hole skipped)", single.BytesRead)
	}
	res, err := Backup(ctx, r, src, Options{Chunker: r.ChunkerParams(), SplitWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Details.Mode != ModeFull || res.Details.Size != int64(len(img)) {
		t.Fatalf("details %+v", res.Details)
	}
	if res.BytesRead < 36*mib || res.BytesRead > 2*36*mib+2*mib {
		t.Errorf("parallel read %d bytes, want 36-74 MiB (hole skipped, data read at most twice)", res.BytesRead)
	}
	flush(t, r)
	if st, err := r.LoadTree(ctx, single.Root); err != nil {
		t.Fatal(err)
	} else if pt, err := r.LoadTree(ctx, res.Root); err != nil {
		t.Fatal(err)
	} else {
		if a, b := st.Find("disk.img").Content, pt.Find("disk.img").Content; !slices.Equal(a, b) {
			t.Errorf("single-stream and parallel chunk lists differ: %d vs %d chunks", len(a), len(b))
		}
	}
	flush(t, r)
	tr, err := r.LoadTree(ctx, res.Root)
	if err != nil {
		t.Fatal(err)
	}
	n := tr.Find("disk.img")
	if n == nil || n.Size != uint64(len(img)) {
		t.Fatalf("node %+v", n)
	}
	// The chunk list is exactly the sequential chunking, zero chunks as holes.
	want := sequentialChunks(t, img, r.ChunkerParams())
	if len(want) != len(n.Content) {
		t.Fatalf("%d chunks, sequential chunking has %d", len(n.Content), len(want))
	}
	holes := 0
	for i, c := range n.Content {
		if c.Size != want[i] {
			t.Fatalf("chunk %d size %d, want %d", i, c.Size, want[i])
		}
		if c.IsHole() {
			holes++
		}
	}
	if holes < 20 {
		t.Errorf("only %d hole chunks for 20 MiB of zeros", holes)
	}

	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dst := tempPath(t, "restored.img")
	st, err := RestoreFile(ctx, r, res.Root, "", dst, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dst); !bytes.Equal(got, img) {
		t.Fatal("restored image differs")
	}
	if st.Written > 36*mib {
		t.Errorf("wrote %d bytes, zeros should be skipped", st.Written)
	}
	var sys syscall.Stat_t
	if err := syscall.Stat(dst, &sys); err != nil {
		t.Fatal(err)
	}
	if alloc := sys.Blocks * 512; alloc > 34*mib {
		t.Errorf("restored file allocates %d bytes, want it sparse", alloc)
	}
}

func TestIncrementalWithExtentList(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	src := tempPath(t, "disk.img")
	img := makeImage(t, src)
	p := r.ChunkerParams()
	full, err := Backup(ctx, r, src, Options{Chunker: p})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, r)

	// Three changed regions: inside data, inside the hole, at the end.
	changes := []chunker.Extent{{Offset: 5 * mib, Length: 64 << 10}, {Offset: 18 * mib, Length: 128 << 10}, {Offset: 47*mib + 100, Length: 4096}}
	var list strings.Builder
	for i, e := range changes {
		data := randBytes(uint64(100+i), int(e.Length))
		copy(img[e.Offset:], data)
		writeAt(t, src, e.Offset, data)
		fmt.Fprintf(&list, "# region %d\n%d,%d\n", i, e.Offset, e.Length)
	}
	ext, err := ParseExtents(strings.NewReader(list.String()))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := Backup(ctx, r, src, Options{Chunker: p, ParentRoot: &full.Root, Changed: ext, HaveChanged: true})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Details.Mode != ModeIncremental || inc.Details.Fallback != "" {
		t.Fatalf("details %+v", inc.Details)
	}
	flush(t, r)
	var changed int64
	for _, e := range changes {
		changed += e.Length
	}
	// Bound: changed bytes, plus per region up to two average chunks and
	// the chunker's 512 KiB read-ahead. The region inside the hole is
	// re-chunked to the end of the zero run (zero runs cut every MinSize
	// from where they were entered, so they never re-join earlier), but
	// holes are not read from storage.
	avg := int64(p.MinSize) + 1<<p.AverageBits
	bound := changed + int64(len(changes))*(2*avg+512<<10)
	t.Logf("incremental: changed %d bytes, chunked %d, read from storage %d, reused %d (bound %d)",
		changed, inc.Stats.Chunked, inc.BytesRead, inc.Stats.Reused, bound)
	if inc.BytesRead > bound {
		t.Errorf("read %d bytes, want <= %d", inc.BytesRead, bound)
	}
	// Exactness: the result is the sequential chunking of the new image.
	tr, err := r.LoadTree(ctx, inc.Root)
	if err != nil {
		t.Fatal(err)
	}
	want := sequentialChunks(t, img, p)
	got := tr.Find("disk.img").Content
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Size != want[i] {
			t.Fatalf("chunk %d: size %d, want %d", i, got[i].Size, want[i])
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dst := tempPath(t, "restored.img")
	if _, err := RestoreFile(ctx, r, inc.Root, "disk.img", dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, dst), img) {
		t.Fatal("restored incremental differs from the image")
	}
}

func TestFallbacks(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	src := tempPath(t, "disk.img")
	makeImage(t, src)
	p := r.ChunkerParams()

	res, err := Backup(ctx, r, src, Options{Chunker: p, HaveChanged: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Details.Mode != ModeFull || !strings.Contains(res.Details.Fallback, "no parent") {
		t.Errorf("no parent: %+v", res.Details)
	}

	// A parent whose chunk list is not a chunking with these params (an
	// fs-style hole of arbitrary size) is refused, and the image read.
	odd := &tree.Node{Name: "disk.img", Type: tree.TypeFile, Content: []tree.Chunk{{Size: 12345}, {Size: 48*mib - 12345}}}
	root, err := r.SaveTree(ctx, &tree.Tree{Nodes: []*tree.Node{odd}})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, r)
	res, err = Backup(ctx, r, src, Options{Chunker: p, ParentRoot: &root, HaveChanged: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Details.Mode != ModeFull || !strings.Contains(res.Details.Fallback, "unusable") {
		t.Errorf("odd parent: %+v", res.Details)
	}

	// A parent of another image name.
	other := &tree.Node{Name: "other.img", Type: tree.TypeFile}
	root, _ = r.SaveTree(ctx, &tree.Tree{Nodes: []*tree.Node{other}})
	flush(t, r)
	res, err = Backup(ctx, r, src, Options{Chunker: p, ParentRoot: &root, HaveChanged: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Details.Mode != ModeFull || !strings.Contains(res.Details.Fallback, "no image") {
		t.Errorf("other parent: %+v", res.Details)
	}
}

func TestParseExtents(t *testing.T) {
	got, err := ParseExtents(strings.NewReader("# x\n\n0,512\n0x1000 4096\n 8192\t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []chunker.Extent{{Offset: 0, Length: 512}, {Offset: 4096, Length: 4096}, {Offset: 8192, Length: 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"1", "1,2,3", "-1,5", "x,1"} {
		if _, err := ParseExtents(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if n := extentBytes([]chunker.Extent{{Offset: 0, Length: 10}, {Offset: 5, Length: 10}, {Offset: 100, Length: 50}}, 120); n != 35 {
		t.Errorf("extentBytes = %d, want 35", n)
	}
}

func TestNotAnImage(t *testing.T) {
	if _, err := OpenImage(os.TempDir()); err == nil {
		t.Fatal("directory accepted as image")
	}
}
