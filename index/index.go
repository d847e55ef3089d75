// Package index maps blob ids to their place in packs: the sealed index
// files stored in the repository (the truth) and a badger cache of them on
// local disk (a cache, rebuilt when missing or stale).
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

// Encode seals the file for storage under index/<BLAKE3 of result>.
func (f *File) Encode(aead *crypto.AEAD) ([]byte, error) { panic("unimplemented") }

// Decode opens and parses a sealed index file.
func Decode(aead *crypto.AEAD, data []byte) (*File, error) { panic("unimplemented") }

// Cache is the badger-backed local index cache of one repository.
type Cache struct{}

// OpenCache opens or creates the cache in dir. If another process holds
// dir, it waits briefly and then falls back to a private temporary cache
// (Private reports it), never failing or corrupting the shared one.
func OpenCache(dir string) (*Cache, error) { panic("unimplemented") }

// Private reports whether the cache is a private temporary one.
func (c *Cache) Private() bool { panic("unimplemented") }

// Lookup returns where a blob is stored.
func (c *Cache) Lookup(id crypto.ID) (Entry, bool, error) { panic("unimplemented") }

// PackSalt returns a pack's salt.
func (c *Cache) PackSalt(packID crypto.ID) (pack.Salt, bool, error) { panic("unimplemented") }

// Add records an index file's entries under its file id.
func (c *Cache) Add(fileID crypto.ID, f *File) error { panic("unimplemented") }

// Files returns the ids of the index files the cache holds.
func (c *Cache) Files() (map[crypto.ID]bool, error) { panic("unimplemented") }

// Reset empties the cache.
func (c *Cache) Reset() error { panic("unimplemented") }

// Close closes the cache (and removes it if private).
func (c *Cache) Close() error { panic("unimplemented") }
