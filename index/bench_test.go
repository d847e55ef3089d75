//go:build linux

// The benchmarks read /proc/self/status and getrusage: Linux only.

package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cairn/internal/crypto"
	"cairn/pack"
)

// Synthetic caches: blob i gets id benchID(i), packs hold benchPerPack
// blobs, files benchPerFile packs (100,000 blobs, a realistic index file
// of about 4.5 MB).
const (
	benchPerPack = 16
	benchPerFile = 6250
)

// benchID returns a random-looking id for n (splitmix64), so a lookup
// can name any blob of the cache without storing the ids.
func benchID(n uint64, salt byte) crypto.ID {
	var id crypto.ID
	x := n*4 + uint64(salt)<<60
	for i := 0; i < crypto.IDSize; i += 8 {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(id[i:], z^z>>31)
	}
	return id
}

// benchFile returns synthetic index file number k.
func benchFile(k int) *File {
	f := &File{Packs: make([]PackInfo, benchPerFile)}
	for i := range f.Packs {
		pn := uint64(k*benchPerFile + i)
		p := &f.Packs[i]
		p.ID = benchID(pn, 1)
		p.Blobs = make([]pack.Blob, benchPerPack)
		off := uint32(pack.HeaderSize)
		for j := range p.Blobs {
			l := uint32(600_000 + j)
			p.Blobs[j] = pack.Blob{Type: pack.DataBlob, ID: benchID(pn*benchPerPack+uint64(j), 0), Offset: off, Length: l, RawLength: l + 400_000}
			off += l
		}
		p.Size = int64(off) + 1000
	}
	return f
}

// benchDir returns a cache dir holding n synthetic blobs. With
// CAIRN_BENCH_DIR set, caches are kept there and reused by later runs
// (building 10M entries takes minutes).
func benchDir(b *testing.B, n int) string {
	keep := os.Getenv("CAIRN_BENCH_DIR")
	if keep == "" {
		dir := filepath.Join(b.TempDir(), "cache")
		buildBenchCache(b, dir, n)
		return dir
	}
	dir := filepath.Join(keep, strconv.Itoa(n))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	buildBenchCache(b, dir, n)
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// buildBenchCache fills a cache in dir with n blobs through Add.
func buildBenchCache(b *testing.B, dir string, n int) {
	c, err := OpenCache(dir)
	if err != nil {
		b.Fatal(err)
	}
	peak := watchMemory()
	start, cpu0 := time.Now(), cpuTime()
	files := n / (benchPerPack * benchPerFile)
	for k := range files {
		if err := c.Add(benchID(uint64(k), 2), benchFile(k)); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.Logf("built %d blobs in %d files: %v, CPU %v (%.0f blobs/s per CPU second), on disk %d MiB; while building: %s",
		n, files, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(n)/cpu.Seconds(), dirSize(dir)>>20, peak())
}

// watchMemory samples memory every 50ms until the returned function is
// called, which stops sampling and describes the peaks.
func watchMemory() func() string {
	var mu sync.Mutex
	var anon, file, heap float64
	done := make(chan struct{})
	sample := func() {
		mu.Lock()
		defer mu.Unlock()
		anon = max(anon, procMiB("RssAnon"))
		file = max(file, procMiB("RssFile"))
		heap = max(heap, heapMiB())
	}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() string {
		close(done)
		sample()
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("VmHWM %.0f MiB, max RssAnon %.0f MiB, max RssFile %.0f MiB, max Go heap in use %.0f MiB", procMiB("VmHWM"), anon, file, heap)
	}
}

// procStatus returns a field of /proc/self/status, e.g. "VmHWM" ->
// "123456 kB".
func procStatus(field string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// procMiB returns a /proc/self/status field in MiB.
func procMiB(field string) float64 {
	kb, err := strconv.ParseFloat(strings.TrimSuffix(procStatus(field), " kB"), 64)
	if err != nil {
		return -1
	}
	return kb / 1024
}

// resetPeakRSS restarts VmHWM from the current RSS (Linux >= 4.0), so
// the peak measured next belongs to the phase that follows.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func BenchmarkCacheLookup(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("CAIRN_BENCH_10M") == "1" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) {
			dir := benchDir(b, n)
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			start := time.Now()
			c, err := OpenCache(dir)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("reopen: %v", time.Since(start).Round(time.Millisecond))
			defer c.Close()
			b.Logf("compactions settled after %v; levels:\n%s", settle(c).Round(time.Millisecond), c.db.LevelsToString())
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			benchLookups(b, c, n)
			runtime.GC()
			b.Logf("%d blobs: after lookups VmHWM %.0f MiB, VmRSS %.0f MiB (anon %.0f, file %.0f), Go heap %.0f MiB",
				n, procMiB("VmHWM"), procMiB("VmRSS"), procMiB("RssAnon"), procMiB("RssFile"), heapMiB())
			benchIterate(b, c, n)
		})
	}
}

// cpuTime returns the CPU time (user+system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pageFaults returns the process's minor plus major page faults so far:
// a lookup that touches a page of the mmapped tables for the first time
// pays one.
func pageFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt + ru.Majflt
}

// benchIterate times the whole-cache walks that check and prune use.
func benchIterate(b *testing.B, c *Cache, n int) {
	start := time.Now()
	blobs, packs, err := c.Count()
	if err != nil || blobs != n || packs != n/benchPerPack {
		b.Fatalf("Count() = %d, %d, %v; want %d, %d", blobs, packs, err, n, n/benchPerPack)
	}
	tCount := time.Since(start)
	start = time.Now()
	seen := 0
	if err := c.ForEachPack(func(p PackInfo) error { seen += len(p.Blobs); return nil }); err != nil || seen != n {
		b.Fatalf("ForEachPack: %d blobs, %v", seen, err)
	}
	tPacks := time.Since(start)
	start = time.Now()
	seen = 0
	if err := c.ForEachBlob(func(Entry) error { seen++; return nil }); err != nil || seen != n {
		b.Fatalf("ForEachBlob: %d blobs, %v", seen, err)
	}
	b.Logf("%d blobs: Count %v, ForEachPack %v, ForEachBlob %v", n, tCount.Round(time.Millisecond), tPacks.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

func heapMiB() float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// settle waits (up to a minute) until badger sees no level that needs
// compacting, so lookups are measured on the cache's steady state.
func settle(c *Cache) time.Duration {
	start := time.Now()
	for time.Since(start) < time.Minute {
		busy := false
		for _, l := range c.db.Levels() {
			busy = busy || l.Score >= 1
		}
		if !busy {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// benchLookups runs the lookup kinds a backup and a restore issue.
func benchLookups(b *testing.B, c *Cache, n int) {
	var cpu0 time.Duration
	var faults0 int64
	start := func() { cpu0, faults0 = cpuTime(), pageFaults() }
	report := func(b *testing.B) {
		b.ReportMetric(float64(pageFaults()-faults0)/float64(b.N), "faults/lookup")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/lookup")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/lookup")
		b.ReportMetric(procMiB("VmHWM"), "peak-RSS-MiB")
		b.ReportMetric(procMiB("RssAnon"), "anon-RSS-MiB")
	}
	b.Run("hit", func(b *testing.B) {
		start()
		for i := 0; b.Loop(); i++ {
			id := benchID(uint64(i*7919)%uint64(n), 0)
			if _, ok, err := c.Lookup(id); err != nil || !ok {
				b.Fatalf("blob %d: found=%v err=%v", i, ok, err)
			}
		}
		report(b)
	})
	b.Run("miss", func(b *testing.B) {
		start()
		for i := 0; b.Loop(); i++ {
			if _, ok, err := c.Lookup(benchID(uint64(i), 3)); err != nil || ok {
				b.Fatalf("absent blob %d: found=%v err=%v", i, ok, err)
			}
		}
		report(b)
	})
	b.Run("has-parallel", func(b *testing.B) {
		start()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := c.Has(benchID(uint64(i*104729)%uint64(n), 0)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b)
	})
}

// BenchmarkCacheAdd measures filling a cache from index files of one pack
// each (what cairn writes during a backup), one Add per file and in
// AddFiles batches of 256, and from large merged files.
func BenchmarkCacheAdd(b *testing.B) {
	for _, bc := range []struct {
		name         string
		packs, batch int
	}{{"1pack-Add", 1, 1}, {"1pack-AddFiles256", 1, 256}, {"6250packs-Add", 6250, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := OpenCache(filepath.Join(b.TempDir(), "cache"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			rng := newRand(60)
			var batch []NamedFile
			blobs := 0
			cpu0 := cpuTime()
			for b.Loop() {
				f := randFile(rng, bc.packs, benchPerPack)
				batch = append(batch, NamedFile{ID: randID(rng), File: f})
				blobs += f.BlobCount()
				if len(batch) == bc.batch {
					if err := c.AddFiles(batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if err := c.AddFiles(batch); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(blobs)/b.Elapsed().Seconds(), "blobs/s")
			b.ReportMetric(float64(blobs)/(cpuTime()-cpu0).Seconds(), "blobs/cpu-s")
		})
	}
}
