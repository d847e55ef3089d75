// Package blobset is a compact set of blob ids for mark phases (prune, check).
package blobset

import (
	"encoding/binary"
	"slices"

	"cairn/internal/crypto"
)

// Set is a compact set of blob ids for the mark phase: 8 bytes per
// blob (the id's first 64 bits), so 10 million referenced blobs cost
// 80 MiB instead of the ~1 GiB of a map of full ids. Two ids sharing a
// 64-bit prefix (probability ~n²/2⁶⁵) make an unused blob look used: it is
// kept, which is the safe direction for prune.
type Set struct {
	ids    []uint64
	sorted bool
}

func prefix(id crypto.ID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// Add inserts id. Call Seal before Has.
func (s *Set) Add(id crypto.ID) {
	s.ids = append(s.ids, prefix(id))
	s.sorted = false
}

// Seal sorts and deduplicates the set.
func (s *Set) Seal() {
	slices.Sort(s.ids)
	s.ids = slices.Compact(s.ids)
	s.ids = slices.Clip(s.ids)
	s.sorted = true
}

// Has reports whether id (or an id with the same prefix) was added.
func (s *Set) Has(id crypto.ID) bool {
	if !s.sorted {
		s.Seal()
	}
	_, ok := slices.BinarySearch(s.ids, prefix(id))
	return ok
}

// Len returns the number of distinct prefixes.
func (s *Set) Len() int {
	if !s.sorted {
		s.Seal()
	}
	return len(s.ids)
}

// AddTyped inserts id tagged with a blob type, for sets that must tell
// tree and data blobs apart: the lowest bit of the prefix carries the type.
func (s *Set) AddTyped(id crypto.ID, t uint8) {
	s.ids = append(s.ids, typed(id, t))
	s.sorted = false
}

// HasTyped reports whether id was added with type t.
func (s *Set) HasTyped(id crypto.ID, t uint8) bool {
	if !s.sorted {
		s.Seal()
	}
	_, ok := slices.BinarySearch(s.ids, typed(id, t))
	return ok
}

func typed(id crypto.ID, t uint8) uint64 { return prefix(id)&^1 | uint64(t&1) }
