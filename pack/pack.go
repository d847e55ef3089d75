// Package pack implements the self-describing pack file format: blobs
// compressed with zstd and sealed with AES-256-GCM under a per-pack key,
// each behind a plaintext header, followed by a sealed trailer. See
// docs/format-pack.md for the normative layout.
//
// A pack file is
//
//	header (24) | blob header (48) + sealed payload | ... | sealed trailer | trailer length (4) | "CPKT"
//
// Readers with the key use the trailer (List) for random access; readers
// without it walk the plaintext blob headers (Scan).
package pack

import (
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

// valid reports whether t is a blob type this version knows.
func (t BlobType) valid() bool { return t == DataBlob || t == TreeBlob }

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

// HeaderSize is the length of the pack file header.
const HeaderSize = 24

// BlobHeaderSize is the length of the plaintext header before each blob.
const BlobHeaderSize = 48

// BlobOverhead is what a blob costs in a pack beyond its (possibly
// compressed) payload: its header plus nonce and tag. Pack writers use it to
// decide whether a payload still fits a target pack size.
const BlobOverhead = BlobHeaderSize + crypto.Overhead

// MaxPackSize bounds a pack file: offsets and lengths are 32-bit.
const MaxPackSize = 1<<32 - 1

const (
	packMagic    = "CAIRNPK1"
	blobMagic    = "CB"
	trailerMagic = "CPKT"
	// trailerAD is the additional data of the sealed trailer; it keeps a
	// sealed trailer from being accepted as anything else sealed under a
	// pack key.
	trailerAD = "cairn pack trailer v1"
	// packKeyContext is the BLAKE3 derive-key context of pack keys.
	packKeyContext = "cairn 2026-11 pack key v1"
	// tailSize is the trailer length field plus the trailer magic.
	tailSize = 8
	// entrySize is one trailer entry: type, flags, id, offset, length, raw length.
	entrySize = 1 + 1 + crypto.IDSize + 4 + 4 + 4
	// minTrailerSealed is a sealed trailer listing no blob.
	minTrailerSealed = crypto.Overhead + 4
)

// KeyFor derives the AEAD of the pack with the given salt.
func KeyFor(master *crypto.Key, salt Salt) *crypto.AEAD {
	return crypto.NewAEAD(master.DeriveKey(packKeyContext, salt[:]))
}
