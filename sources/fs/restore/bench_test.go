package restore

import (
	"fmt"
	"math/rand"
	"runtime"
	"testing"

	"cairn/repo/tree"
)

// BenchmarkRestore restores 64 files of 16 MiB (1 GiB) made of 1 MiB
// chunks from the in-memory double, and reports throughput and the bytes
// allocated per restore, which must stay near one chunk per worker.
func BenchmarkRestore(b *testing.B) {
	f := newFakeRepo()
	rng := rand.New(rand.NewSource(1))
	var chunks []tree.Chunk
	for i := 0; i < 32; i++ {
		buf := make([]byte, 1<<20)
		rng.Read(buf)
		chunks = append(chunks, f.chunk(buf))
	}
	var nodes []*tree.Node
	for i := 0; i < 64; i++ {
		var content []tree.Chunk
		for j := 0; j < 16; j++ {
			content = append(content, chunks[(i+j)%len(chunks)])
		}
		nodes = append(nodes, file(fmt.Sprintf("f%02d", i), 0o644, content...))
	}
	root := f.saveTree(b, f.dir(b, "d", 0o755, nodes...))
	for _, verify := range []bool{false, true} {
		b.Run(fmt.Sprintf("verify=%v", verify), func(b *testing.B) {
			b.SetBytes(64 << 24)
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for i := 0; i < b.N; i++ {
				mustRestore(b, f, root, b.TempDir(), Options{Workers: 2, Verify: verify})
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
		})
	}
}
