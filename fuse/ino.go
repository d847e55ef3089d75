package fuse

import (
	"encoding/binary"
	"hash/fnv"

	"cairn/internal/crypto"
)

// Inode numbers are hashes, so that a node keeps its number for the
// life of its snapshot however often the kernel forgets and looks it up
// again, without a table that grows with every node ever visited:
//
//   - a snapshot's root: hash(view, snapshot id); every view (snapshots/,
//     ids/, hosts/h/, tags/t/) gets its own numbers, because Linux allows
//     a directory inode only one parent;
//   - a hardlinked non-directory: hash(snapshot root, device, inode), so
//     all its names share one number as in the original;
//   - anything else: hash(parent, name).
//
// Numbers are kept below 2^63, where go-fuse hands out its own, and
// above 1, the root.
func finishIno(h uint64) uint64 {
	h &^= 1 << 63
	if h < 2 {
		h += 2
	}
	return h
}

func childIno(parent uint64, name string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], parent)
	h.Write(b[:])
	h.Write([]byte(name))
	return finishIno(h.Sum64())
}

func hardlinkIno(snapRoot, dev, inode uint64) uint64 {
	h := fnv.New64a()
	var b [25]byte
	b[0] = 'h'
	binary.LittleEndian.PutUint64(b[1:], snapRoot)
	binary.LittleEndian.PutUint64(b[9:], dev)
	binary.LittleEndian.PutUint64(b[17:], inode)
	h.Write(b[:])
	return finishIno(h.Sum64())
}

func snapshotIno(view string, id crypto.ID) uint64 {
	h := fnv.New64a()
	h.Write([]byte("s" + view + "\x00"))
	h.Write(id[:])
	return finishIno(h.Sum64())
}

// virtualIno numbers the virtual directories and symlinks; a symlink's
// target is part of its identity, so that a `latest` that moved is a new
// inode rather than a cached one pointing at the old target.
func virtualIno(parts ...string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{'v'})
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return finishIno(h.Sum64())
}
