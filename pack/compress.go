package pack

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// encoder is created once and shared: EncodeAll is safe for concurrent use
// and keeps one internal encoder state per concurrent caller (up to
// GOMAXPROCS), so there is nothing per-call to configure.
var encoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		// The AEAD tag and the keyed blob id already verify the
		// plaintext; a frame checksum would add 4 bytes and time for nothing.
		zstd.WithEncoderCRC(false),
		// Each encoder state keeps a history of twice the window (once
		// the window plus a block with lower memory): the default 8 MiB
		// window cost 16 MiB per core. Chunks average 1 MiB, so a 2 MiB
		// window still spans nearly all of them.
		zstd.WithWindowSize(2<<20),
		zstd.WithLowerEncoderMem(true),
	)
	if err != nil {
		panic(fmt.Sprintf("pack: zstd encoder options: %v", err)) // static options: cannot happen
	}
	return enc
})

// decoder is created once and shared: DecodeAll is safe for concurrent use.
// WithDecodeAllCapLimit makes DecodeAll stop at cap(dst), which decompress
// sets to the blob's raw length, so a crafted frame cannot expand beyond
// the size its header claims (a decompression bomb).
var decoder = sync.OnceValue(func() *zstd.Decoder {
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0), // one state per CPU: restores decode in parallel
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(math.MaxUint32),
	)
	if err != nil {
		panic(fmt.Sprintf("pack: zstd decoder options: %v", err)) // static options: cannot happen
	}
	return dec
})

// Compress returns plaintext compressed with zstd when that is smaller, and
// whether it did. The compressed form is written into dst's storage (dst's
// contents are overwritten, so a caller can reuse one buffer); otherwise
// payload is plaintext itself. Safe for concurrent use.
func Compress(dst, plaintext []byte) (payload []byte, compressed bool) {
	out, ok := compress(dst, plaintext)
	if !ok {
		return plaintext, false
	}
	return out, true
}

// CompressBuffer is Compress for a caller that recycles dst: it also
// returns the buffer the encoder wrote to (dst's storage, or a larger one
// when dst was too small), to be passed as dst next time, whether or not
// the payload is that buffer.
func CompressBuffer(dst, plaintext []byte) (payload, buf []byte, compressed bool) {
	out, ok := compress(dst, plaintext)
	if !ok {
		return plaintext, out[:0], false
	}
	return out, out[:0], true
}

// compress is Compress returning the encoder's output buffer even when it
// is not smaller, so that Writer.Add can keep it for the next blob.
func compress(dst, plaintext []byte) (out []byte, smaller bool) {
	if len(plaintext) == 0 {
		return dst[:0], false
	}
	// Size dst for the worst case once: for inputs of 1 MiB and more the
	// encoder otherwise grows its output by appending, several copies of
	// the input's size for every incompressible chunk.
	if bound := compressBound(len(plaintext)); cap(dst) < bound {
		dst = make([]byte, 0, bound)
	}
	out = encoder().EncodeAll(plaintext, dst[:0])
	return out, len(out) < len(plaintext)
}

// compressBound is zstd's ZSTD_COMPRESSBOUND, plus room for the frame
// header: the most EncodeAll can produce from n bytes.
func compressBound(n int) int {
	b := n + n>>8 + 32
	if n < 128<<10 {
		b += (128<<10 - n) >> 11
	}
	return b
}

// checkFrameSize reports an error when a zstd payload declares a content
// size other than rawLen: a caller that passed the wrong raw length to
// AddPayload would otherwise only find out when restoring.
func checkFrameSize(payload []byte, rawLen int) error {
	var h zstd.Header
	if err := h.Decode(payload); err != nil {
		return fmt.Errorf("compressed payload is not a zstd frame: %w", err)
	}
	if h.HasFCS && h.FrameContentSize != uint64(rawLen) {
		return fmt.Errorf("compressed payload holds %d bytes, raw length given is %d", h.FrameContentSize, rawLen)
	}
	return nil
}

// decompress appends the rawLen bytes that payload decompresses to onto
// dst. It fails if payload would produce more or fewer bytes.
func decompress(dst, payload []byte, rawLen int) ([]byte, error) {
	n := len(dst)
	dst = slices.Grow(dst, rawLen)
	out, err := decoder().DecodeAll(payload, dst[:n:n+rawLen])
	if err != nil {
		return nil, err
	}
	if len(out)-n != rawLen {
		return nil, fmt.Errorf("decompressed to %d bytes, want %d", len(out)-n, rawLen)
	}
	// With the capacity reserved, DecodeAll wrote into dst's array; return
	// dst so that the caller keeps its full capacity for reuse.
	dst = dst[:n+rawLen]
	if rawLen > 0 && &out[n] != &dst[n] {
		copy(dst[n:], out[n:])
	}
	return dst, nil
}
