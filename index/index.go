// Package index maps blob ids to their place in packs: the sealed index
// files stored in the repository (the truth) and a badger cache of them on
// local disk (a cache, rebuilt when missing or stale).
//
// docs/format-index.md is the normative description of both encodings and
// of when the cache must be rebuilt.
package index

import (
	"cairn/internal/crypto"
	"cairn/pack"
)

// Entry locates one blob.
type Entry struct {
	Type      pack.BlobType
	ID        crypto.ID
	Pack      crypto.ID
	Offset    uint32
	Length    uint32
	RawLength uint32
}

// Blob returns the entry as a pack.Blob, the form pack.DecodeBlob wants.
func (e Entry) Blob() pack.Blob {
	return pack.Blob{Type: e.Type, ID: e.ID, Offset: e.Offset, Length: e.Length, RawLength: e.RawLength}
}

// PackInfo lists one pack's blobs.
type PackInfo struct {
	ID    crypto.ID
	Salt  pack.Salt
	Size  int64
	Blobs []pack.Blob
}

// File is the content of one index file.
type File struct {
	Packs []PackInfo
	// Supersedes names index files whose content this file includes, so
	// they may be deleted.
	Supersedes []crypto.ID
}
