package fuse

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"cairn/repo/tree"
)

const testChunk = 64 << 10

// sparseData returns size bytes that are zero except for a few random
// runs, and the chunks they were stored as.
func sparseData(r *memRepo, rng *rand.Rand, size, runs int) ([]byte, []tree.Chunk) {
	data := make([]byte, size)
	for i := 0; i < runs; i++ {
		off := rng.Intn(size)
		n := min(rng.Intn(3*testChunk)+1, size-off)
		rng.Read(data[off : off+n])
	}
	return data, r.content(data, testChunk)
}

// openFile returns a handle on a file node of content, outside any mount.
func openFile(t *testing.T, r *memRepo, content []tree.Chunk, opts Options) (*FS, *handle) {
	t.Helper()
	r.snapshot(time.Now(), "h", nil, r.tree())
	fsys, err := New(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	f := &fileNode{entry: entry{fsys: fsys, node: &tree.Node{Name: "f", Type: tree.TypeFile, Content: content}}}
	return fsys, &handle{f: f}
}

func readAt(t *testing.T, h *handle, n int, off int64) []byte {
	t.Helper()
	buf := make([]byte, n)
	res, errno := h.Read(context.Background(), buf, off)
	if errno != 0 {
		t.Fatalf("read %d at %d: %v", n, off, errno)
	}
	b, st := res.Bytes(buf)
	if st != gofuse.OK {
		t.Fatal(st)
	}
	return b
}

func TestReadFetchesOnlyTheChunksUnderTheRange(t *testing.T) {
	r := newMemRepo()
	rng := rand.New(rand.NewSource(1))
	data := make([]byte, 10*testChunk+123)
	rng.Read(data)
	clear(data[3*testChunk : 5*testChunk]) // chunks 3 and 4 are holes
	content := r.content(data, testChunk)
	_, h := openFile(t, r, content, Options{ReadAhead: -1})

	for _, c := range []struct {
		off, n int
		loads  int // new blob loads
	}{
		{0, 10, 1},                            // chunk 0
		{100, 1000, 0},                        // chunk 0 again: cached
		{testChunk - 5, 10, 1},                // straddles 0|1: only 1 is new
		{3*testChunk + 7, 2*testChunk - 7, 0}, // all hole: nothing fetched
		{5*testChunk - 1, 2, 1},               // hole|5
		{9 * testChunk, 2 * testChunk, 2},     // chunk 9 and the short tail chunk 10
		{10*testChunk + 100, testChunk, 0},    // the tail again: cached
		{len(data), 10, 0},                    // at EOF: nothing
		{2*testChunk + 1, 3 * testChunk, 1},   // chunk 2, holes 3 and 4
		{6 * testChunk, 3*testChunk - 1, 3},   // 6, 7, 8
		{0, len(data) + 5, 0},                 // everything: all cached
	} {
		before := r.totalLoads()
		got := readAt(t, h, c.n, int64(c.off))
		want := data[min(c.off, len(data)):min(c.off+c.n, len(data))]
		if !bytes.Equal(got, want) {
			t.Errorf("read %d at %d: wrong bytes (%d, want %d)", c.n, c.off, len(got), len(want))
		}
		if d := r.totalLoads() - before; d != c.loads {
			t.Errorf("read %d at %d: %d blob loads, want %d", c.n, c.off, d, c.loads)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	r := newMemRepo()
	data := make([]byte, 20*testChunk)
	rand.New(rand.NewSource(2)).Read(data)
	fsys, h := openFile(t, r, r.content(data, testChunk), Options{ReadAhead: -1, CacheSize: 3 * testChunk})
	for off := 0; off < len(data); off += 4096 {
		if got := readAt(t, h, 4096, int64(off)); !bytes.Equal(got, data[off:off+4096]) {
			t.Fatalf("wrong bytes at %d", off)
		}
		if b := fsys.CacheStats().Bytes; b > 3*testChunk {
			t.Fatalf("cache holds %d bytes, bound %d", b, 3*testChunk)
		}
	}
	if n := r.totalLoads(); n != 20 {
		t.Errorf("sequential read loaded %d blobs, want each of 20 once", n)
	}
	readAt(t, h, 1, 0) // evicted long ago
	if n := r.totalLoads(); n != 21 {
		t.Errorf("re-reading an evicted chunk: %d loads, want 21", n)
	}
}

func TestReadAheadOnSequentialReadsOnly(t *testing.T) {
	r := newMemRepo()
	r.delay = 2 * time.Millisecond
	data := make([]byte, 32*testChunk)
	rand.New(rand.NewSource(3)).Read(data)
	fsys, h := openFile(t, r, r.content(data, testChunk), Options{ReadAhead: 4 * testChunk})

	// Sequential reading keeps about four chunks ahead, and the reader
	// then finds its chunks fetched or being fetched.
	for off := 0; off < 16*testChunk; off += 32 << 10 {
		if got := readAt(t, h, 32<<10, int64(off)); !bytes.Equal(got, data[off:off+32<<10]) {
			t.Fatalf("wrong bytes at %d", off)
		}
	}
	s := fsys.CacheStats()
	if s.Prefetches < 15 || s.Hits+s.Waits < 15*2 {
		t.Errorf("sequential read: %+v; want the chunks after the first prefetched and then found", s)
	}
	waitIdle(t, fsys)
	if n := r.totalLoads(); n > 16+4 {
		t.Errorf("read-ahead loaded %d blobs for 16 chunks read, want at most 4 beyond", n)
	}

	// Random reads far apart start no read-ahead.
	_, h2 := openFile(t, r, r.content(data, testChunk), Options{ReadAhead: 4 * testChunk})
	before := h2.f.fsys.CacheStats().Prefetches
	for _, c := range []int{30, 2, 25, 9, 17} {
		readAt(t, h2, 100, int64(c*testChunk+50))
	}
	if p := h2.f.fsys.CacheStats().Prefetches - before; p != 0 {
		t.Errorf("random reads started %d prefetches", p)
	}
}

// waitIdle waits until no fetch is in flight.
func waitIdle(t *testing.T, fsys *FS) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		fsys.blobs.mu.Lock()
		n := len(fsys.blobs.inflight)
		fsys.blobs.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("fetches still in flight")
}

func TestDamagedContentIsEIO(t *testing.T) {
	r := newMemRepo()
	data := bytes.Repeat([]byte("a"), 3*testChunk)
	content := r.content(data, testChunk)
	content = append(content, content[0]) // reuse: fine
	content[1].Size++                     // the tree lies about a blob's size
	_, h := openFile(t, r, content, Options{ReadAhead: -1})
	if _, errno := h.Read(context.Background(), make([]byte, 10), int64(testChunk)+5); errno != syscall.EIO {
		t.Errorf("blob of the wrong size: %v, want EIO", errno)
	}
	r.mu.Lock()
	clear(r.blobs)
	r.mu.Unlock()
	if _, errno := h.Read(context.Background(), make([]byte, 10), 0); errno != syscall.EIO {
		t.Errorf("missing blob: %v, want EIO", errno)
	}
	// A read that gets some bytes before the damage returns them.
	_, h2 := openFile(t, r, []tree.Chunk{{Size: 100}, content[0]}, Options{ReadAhead: -1})
	if b := readAt(t, h2, 200, 50); len(b) != 50 {
		t.Errorf("short read before a missing blob: %d bytes, want 50", len(b))
	}
	if r.count(func() int { return r.syncs }) == 0 {
		t.Error("a missing blob did not sync the index")
	}
}

func TestLseekDataAndHoles(t *testing.T) {
	r := newMemRepo()
	data := make([]byte, 6*testChunk)
	copy(data[2*testChunk:], bytes.Repeat([]byte{1}, testChunk)) // data in chunk 2 only
	data[5*testChunk] = 1                                        // and chunk 5
	_, h := openFile(t, r, r.content(data, testChunk), Options{})
	f := h.f
	for _, c := range []struct {
		off    uint64
		whence uint32
		want   uint64
		errno  syscall.Errno
	}{
		{0, unix.SEEK_DATA, 2 * testChunk, 0},
		{2*testChunk + 9, unix.SEEK_DATA, 2*testChunk + 9, 0},
		{3 * testChunk, unix.SEEK_DATA, 5 * testChunk, 0},
		{0, unix.SEEK_HOLE, 0, 0},
		{2 * testChunk, unix.SEEK_HOLE, 3 * testChunk, 0},
		{5 * testChunk, unix.SEEK_HOLE, 6 * testChunk, 0},
		{6 * testChunk, unix.SEEK_DATA, 0, syscall.ENXIO},
	} {
		got, errno := f.Lseek(context.Background(), nil, c.off, c.whence)
		if errno != c.errno || (errno == 0 && got != c.want) {
			t.Errorf("lseek(%d, %d) = %d, %v; want %d, %v", c.off, c.whence, got, errno, c.want, c.errno)
		}
	}
}

// TestSparseRandomReadsThroughMount reads random ranges of a 256 MiB
// file that is mostly hole through the kernel, and checks holes are
// never fetched.
func TestSparseRandomReadsThroughMount(t *testing.T) {
	r := newMemRepo()
	rng := rand.New(rand.NewSource(4))
	const size = 256 << 20
	data, content := sparseData(r, rng, size, 60)
	root := r.tree(&tree.Node{Name: "disk.img", Type: tree.TypeFile, Mode: 0o600, Size: size, Content: content})
	r.snapshot(time.Now(), "h", nil, root)
	fsys, mnt := mountMem(t, r, Options{})
	f, err := os.Open(filepath.Join(mnt, "latest", "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Size != size {
		t.Fatalf("size %d (%v)", st.Size, err)
	}
	var dataChunks int
	for _, c := range content {
		if !c.IsHole() {
			dataChunks++
		}
	}
	if want := int64(dataChunks) * testChunk / 512; st.Blocks != want {
		t.Errorf("blocks %d, want %d (data chunks only)", st.Blocks, want)
	}
	buf := make([]byte, 4<<20)
	for i := 0; i < 300; i++ {
		off := rng.Int63n(size)
		n := rng.Intn(len(buf)) + 1
		if i%3 == 0 {
			n = rng.Intn(100) + 1
		}
		got, err := f.ReadAt(buf[:n], off)
		want := data[off:min(off+int64(n), size)]
		if (err != nil && len(want) == n) || !bytes.Equal(buf[:got], want) {
			t.Fatalf("read %d at %d: %d bytes (%v), differ from the original", n, off, got, err)
		}
	}
	if loads := r.totalLoads(); loads > dataChunks {
		t.Errorf("%d blob loads for %d data chunks", loads, dataChunks)
	}
	off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_DATA)
	if first := firstData(content); err != nil || off != first {
		t.Errorf("SEEK_DATA from 0: %d %v, want %d", off, err, first)
	}
	t.Logf("cache: %+v", fsys.CacheStats())
}

func firstData(cs []tree.Chunk) int64 {
	var off int64
	for _, c := range cs {
		if !c.IsHole() {
			return off
		}
		off += int64(c.Size)
	}
	return -1
}
