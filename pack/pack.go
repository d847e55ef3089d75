// Package pack implements the self-describing pack file format: blobs
// compressed with zstd and sealed with AES-256-GCM under a per-pack key,
// each behind a plaintext header, followed by a sealed trailer. See
// docs/format.md for the normative layout.
package pack

import (
	"errors"
	"io"

	"cairn/internal/crypto"
)

// BlobType is the kind of a blob.
type BlobType uint8

// Blob types. Data and tree blobs go to separate packs.
const (
	DataBlob BlobType = 1
	TreeBlob BlobType = 2
)

// String returns "data" or "tree".
func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return "invalid"
}

// SaltSize is the length of a pack's random salt.
const SaltSize = 16

// Salt is a pack's random salt; with the master key it gives the pack key.
type Salt [SaltSize]byte

// Blob describes one blob in a pack.
type Blob struct {
	Type BlobType
	ID   crypto.ID
	// Offset of the blob's header from the start of the pack file.
	Offset uint32
	// Length of header plus sealed payload: the bytes to load for DecodeBlob.
	Length uint32
	// RawLength is the plaintext length.
	RawLength uint32
}

// ErrFormat is wrapped by errors about data that is not a valid pack.
var ErrFormat = errors.New("invalid pack format")

// KeyFor derives the AEAD of the pack with the given salt.
func KeyFor(master *crypto.Key, salt Salt) *crypto.AEAD { panic("unimplemented") }

// Compress returns plaintext compressed with zstd into dst when that is
// smaller, and whether it did. Safe for concurrent use.
func Compress(dst, plaintext []byte) (payload []byte, compressed bool) { panic("unimplemented") }

// Writer assembles one pack in memory. Not safe for concurrent use.
type Writer struct{}

// NewWriter starts a pack with a fresh random salt.
func NewWriter(master *crypto.Key) (*Writer, error) { panic("unimplemented") }

// Add compresses and seals plaintext as blob id of type t.
func (w *Writer) Add(t BlobType, id crypto.ID, plaintext []byte) error { panic("unimplemented") }

// AddPayload seals a payload produced by Compress.
func (w *Writer) AddPayload(t BlobType, id crypto.ID, payload []byte, compressed bool, rawLen int) error {
	panic("unimplemented")
}

// Size returns the pack's size so far, without the trailer.
func (w *Writer) Size() int { panic("unimplemented") }

// Count returns the number of blobs added.
func (w *Writer) Count() int { panic("unimplemented") }

// Finalize writes the blobs in random order and the trailer, returning the
// pack's bytes, its id (BLAKE3 of the bytes) and the blobs with offsets.
func (w *Writer) Finalize() (data []byte, id crypto.ID, salt Salt, blobs []Blob, err error) {
	panic("unimplemented")
}

// ReadHeader returns the salt from the first bytes of a pack.
func ReadHeader(head []byte) (Salt, error) { panic("unimplemented") }

// HeaderSize is the length of the pack file header.
const HeaderSize = 24

// List reads a pack's header and trailer through ra and returns its salt and blobs.
func List(master *crypto.Key, ra io.ReaderAt, size int64) (Salt, []Blob, error) {
	panic("unimplemented")
}

// DecodeBlob verifies and opens one blob (the Length bytes at its Offset):
// header checksum, AEAD tag, decompression, raw length and keyed id must all
// match want. It returns the plaintext appended to dst.
func DecodeBlob(master *crypto.Key, aead *crypto.AEAD, raw []byte, want Blob, dst []byte) ([]byte, error) {
	panic("unimplemented")
}

// Scan reads a pack front to back without the trailer and without a key,
// calling fn for every blob header found. It stops at the trailer or at the
// first damaged header, returning an error wrapping ErrFormat in that case.
func Scan(rd io.Reader, fn func(Blob) error) (Salt, error) { panic("unimplemented") }
