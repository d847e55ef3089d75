package chunker

import "testing"

// BenchmarkRabinCut measures the cut search alone, over data in memory.
func BenchmarkRabinCut(b *testing.B) {
	p := defaultTestParams()
	data := randomBytes(100, benchSize)
	b.SetBytes(benchSize)
	r := newRabin(p)
	for b.Loop() {
		for pos := 0; pos < len(data); {
			r.startChunk()
			pos += r.cut(data[pos:], true)
		}
	}
}
