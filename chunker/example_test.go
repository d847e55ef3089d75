package chunker_test

import (
	"bytes"
	"context"
	"fmt"

	"cairn/chunker"
)

// Split a 10 MiB run of zeros, which the default parameters cut every
// MinSize bytes, with two workers.
func ExampleSplit() {
	p := chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
	data := make([]byte, 10<<20)
	var n int
	var last chunker.Chunk
	err := chunker.Split(context.Background(), bytes.NewReader(data), 0, int64(len(data)), p, 2,
		func(c chunker.Chunk) error {
			n++
			last = c
			return nil
		})
	fmt.Println(n, last.Offset, len(last.Data), err)
	// Output: 20 9961472 524288 <nil>
}

// Resync a 16 MiB image against its parent after one byte changed: only
// the chunk holding it is read, every other chunk is reused.
func ExampleResync() {
	p := chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
	image := make([]byte, 16<<20)
	var old []chunker.OldChunk
	_ = chunker.Split(context.Background(), bytes.NewReader(image), 0, int64(len(image)), p, 1,
		func(c chunker.Chunk) error {
			old = append(old, chunker.OldChunk{Offset: c.Offset, Size: int64(len(c.Data))})
			return nil
		})
	image[5_000_000] = 1
	changed := []chunker.Extent{{Offset: 5_000_000, Length: 1}}
	stats, err := chunker.Resync(context.Background(), bytes.NewReader(image), int64(len(image)), old, changed, p,
		func(c chunker.Chunk, reuse *chunker.OldChunk) error { return nil })
	fmt.Printf("%+v %v\n", stats, err)
	// Output: {BytesRead:524288 BytesReused:16252928 ChunksReused:31 ChunksRead:1} <nil>
}
