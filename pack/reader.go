package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"cairn/internal/crypto"
)

// ReadHeader returns the salt from the first bytes of a pack.
func ReadHeader(head []byte) (Salt, error) {
	var salt Salt
	if len(head) < HeaderSize {
		return salt, fmt.Errorf("pack header of %d bytes, want %d: %w", len(head), HeaderSize, ErrFormat)
	}
	if string(head[:len(packMagic)]) != packMagic {
		return salt, fmt.Errorf("bad pack magic %q: %w", head[:len(packMagic)], ErrFormat)
	}
	copy(salt[:], head[len(packMagic):HeaderSize])
	return salt, nil
}

// List reads a pack's header and trailer through ra and returns its salt and
// blobs in file order. size is the pack file's length. The trailer is sealed
// under the key derived from the header's salt, so a damaged salt fails
// like a damaged trailer, with crypto.ErrAuth.
func List(master *crypto.Key, ra io.ReaderAt, size int64) (Salt, []Blob, error) {
	var salt Salt
	if size < HeaderSize+minTrailerSealed+tailSize {
		return salt, nil, fmt.Errorf("pack of %d bytes is shorter than an empty pack: %w", size, ErrFormat)
	}
	var head [HeaderSize]byte
	if err := readFull(ra, head[:], 0); err != nil {
		return salt, nil, err
	}
	salt, err := ReadHeader(head[:])
	if err != nil {
		return salt, nil, err
	}
	var tail [tailSize]byte
	if err := readFull(ra, tail[:], size-tailSize); err != nil {
		return salt, nil, err
	}
	if string(tail[4:]) != trailerMagic {
		return salt, nil, fmt.Errorf("bad pack trailer magic %q (truncated pack?): %w", tail[4:], ErrFormat)
	}
	sealedLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	trailerStart := size - tailSize - sealedLen
	if sealedLen < minTrailerSealed || (sealedLen-minTrailerSealed)%entrySize != 0 || trailerStart < HeaderSize {
		return salt, nil, fmt.Errorf("pack trailer length %d impossible in a pack of %d bytes: %w", sealedLen, size, ErrFormat)
	}
	sealed := make([]byte, sealedLen)
	if err := readFull(ra, sealed, trailerStart); err != nil {
		return salt, nil, err
	}
	plain, err := KeyFor(master, salt).Open(nil, sealed, []byte(trailerAD))
	if err != nil {
		return salt, nil, fmt.Errorf("pack trailer: %w", err)
	}
	blobs, err := parseTrailer(plain, trailerStart)
	if err != nil {
		return salt, nil, err
	}
	return salt, blobs, nil
}

// readFull reads exactly len(p) bytes at off; a short read is ErrFormat,
// since the caller's size said the bytes are there.
func readFull(ra io.ReaderAt, p []byte, off int64) error {
	n, err := ra.ReadAt(p, off)
	if n == len(p) {
		return nil // io.ReaderAt may report io.EOF along with the last bytes
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read pack at %d: got %d of %d bytes: %w", off, n, len(p), ErrFormat)
	}
	return fmt.Errorf("read pack at %d: %w", off, err)
}

// openBuffers holds scratch space for compressed payloads between opening
// and decompressing; it only saves allocations and carries no state.
var openBuffers = sync.Pool{New: func() any { return new([]byte) }}

// DecodeBlob verifies and opens one blob (the Length bytes at its Offset):
// header checksum, AEAD tag, decompression, raw length and keyed id must all
// match want. It returns the plaintext appended to dst. aead is the pack's
// key (KeyFor); master gives the id key. A failed tag wraps crypto.ErrAuth,
// every other failure ErrFormat. dst's spare capacity must not overlap raw.
// Safe for concurrent use.
func DecodeBlob(master *crypto.Key, aead *crypto.AEAD, raw []byte, want Blob, dst []byte) ([]byte, error) {
	short := want.ID.Short()
	if master == nil || aead == nil {
		return nil, fmt.Errorf("blob %s: nil key", short)
	}
	if uint64(len(raw)) != uint64(want.Length) {
		return nil, fmt.Errorf("blob %s: have %d bytes, want %d: %w", short, len(raw), want.Length, ErrFormat)
	}
	h, err := parseBlobHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", short, err)
	}
	switch {
	case h.typ != want.Type:
		return nil, fmt.Errorf("blob %s: header says type %s, want %s: %w", short, h.typ, want.Type, ErrFormat)
	case h.id != want.ID:
		return nil, fmt.Errorf("blob %s: header names blob %s: %w", short, h.id.Short(), ErrFormat)
	case h.rawLen != want.RawLength:
		return nil, fmt.Errorf("blob %s: header says raw length %d, want %d: %w", short, h.rawLen, want.RawLength, ErrFormat)
	case h.length() != uint64(len(raw)):
		return nil, fmt.Errorf("blob %s: header says length %d, have %d bytes: %w", short, h.length(), len(raw), ErrFormat)
	}
	ad := raw[:headerAuthSize]
	sealed := raw[BlobHeaderSize:]
	n := len(dst)
	if !h.compressed() {
		dst, err = aead.Open(dst, sealed, ad)
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", short, err)
		}
	} else {
		bufp := openBuffers.Get().(*[]byte)
		defer openBuffers.Put(bufp)
		payload, err := aead.Open((*bufp)[:0], sealed, ad)
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", short, err)
		}
		*bufp = payload[:0]
		// The header is authentic now, so its raw length may size a buffer.
		dst, err = decompress(dst, payload, int(h.rawLen))
		if err != nil {
			return nil, fmt.Errorf("blob %s: decompress: %v: %w", short, err, ErrFormat)
		}
	}
	if len(dst)-n != int(h.rawLen) {
		return nil, fmt.Errorf("blob %s: plaintext of %d bytes, want %d: %w", short, len(dst)-n, h.rawLen, ErrFormat)
	}
	if got := master.BlobID(dst[n:]); got != want.ID {
		return nil, fmt.Errorf("blob %s: plaintext hashes to %s (wrong id key?): %w", short, got.Short(), ErrFormat)
	}
	return dst, nil
}
