package index

import (
	"encoding/binary"
	"fmt"

	"cairn/internal/crypto"
	"cairn/pack"
)

// Key prefixes of the cache. Every key is one prefix byte, then (except
// for the singletons) a 32-byte id. See docs/format-index.md.
const (
	prefixBlob  = 'b' // blob id -> blobValue
	prefixPack  = 'p' // pack id -> packValue
	prefixFile  = 'f' // index file id -> fileValue
	keyMeta     = "m" // -> cacheMagic; absent or different means rebuild
	keyDirty    = "d" // present while Add or RemoveFile runs
	keyIDLen    = 1 + crypto.IDSize
	blobValLen  = 1 + crypto.IDSize + 3*4
	packHdrLen  = pack.SaltSize + 8 + 4
	packBlobLen = 1 + crypto.IDSize + 3*4
)

// cacheMagic is the value of keyMeta. Changing the layout means changing
// it: an old cache is then dropped and rebuilt instead of misread.
var cacheMagic = []byte("cairn index cache v2")

// fileValue is the value of a file key: a version byte (1), then the ids
// of the packs the file lists. Keeping them lets RemoveFile work when the
// file itself is gone (another host's prune deleted it).
func fileValue(f *File) []byte {
	v := make([]byte, 1, 1+len(f.Packs)*crypto.IDSize)
	v[0] = 1
	for i := range f.Packs {
		v = append(v, f.Packs[i].ID[:]...)
	}
	return v
}

// parseFileValue returns the pack ids of a file value.
func parseFileValue(id crypto.ID, v []byte) ([]crypto.ID, error) {
	if len(v) < 1 || v[0] != 1 || (len(v)-1)%crypto.IDSize != 0 {
		return nil, fmt.Errorf("index file %v: marker of %d bytes: %w", id.Short(), len(v), ErrCorrupt)
	}
	ids := make([]crypto.ID, (len(v)-1)/crypto.IDSize)
	for i := range ids {
		copy(ids[i][:], v[1+i*crypto.IDSize:])
	}
	return ids, nil
}

func idKey(prefix byte, id crypto.ID) []byte {
	k := make([]byte, keyIDLen)
	k[0] = prefix
	copy(k[1:], id[:])
	return k
}

// idFromKey returns the id of a prefixed key.
func idFromKey(k []byte) (crypto.ID, error) {
	var id crypto.ID
	if len(k) != keyIDLen {
		return id, fmt.Errorf("key of %d bytes: %w", len(k), ErrCorrupt)
	}
	copy(id[:], k[1:])
	return id, nil
}

// blobValue is type | pack id | offset | length | raw length, fixed size,
// integers big-endian.
func blobValue(t pack.BlobType, packID crypto.ID, b *pack.Blob) []byte {
	v := make([]byte, 0, blobValLen)
	v = append(v, byte(t))
	v = append(v, packID[:]...)
	v = binary.BigEndian.AppendUint32(v, b.Offset)
	v = binary.BigEndian.AppendUint32(v, b.Length)
	return binary.BigEndian.AppendUint32(v, b.RawLength)
}

func parseBlobValue(id crypto.ID, v []byte) (Entry, error) {
	if len(v) != blobValLen {
		return Entry{}, fmt.Errorf("blob %v: value of %d bytes: %w", id.Short(), len(v), ErrCorrupt)
	}
	e := Entry{Type: pack.BlobType(v[0] &^ altFlag), ID: id}
	copy(e.Pack[:], v[1:])
	v = v[1+crypto.IDSize:]
	e.Offset = binary.BigEndian.Uint32(v)
	e.Length = binary.BigEndian.Uint32(v[4:])
	e.RawLength = binary.BigEndian.Uint32(v[8:])
	return e, nil
}

// packValue is salt | size | refs | blobs, where refs counts the index
// files in the cache that list the pack and each blob is type | id |
// offset | length | raw length. Keeping the blob list here lets
// ForEachPack hand out whole packs without a reverse index.
func packValue(p *PackInfo, refs uint32) []byte {
	v := make([]byte, 0, packHdrLen+len(p.Blobs)*packBlobLen)
	v = append(v, p.Salt[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(p.Size))
	v = binary.BigEndian.AppendUint32(v, refs)
	for i := range p.Blobs {
		b := &p.Blobs[i]
		v = append(v, byte(b.Type))
		v = append(v, b.ID[:]...)
		v = binary.BigEndian.AppendUint32(v, b.Offset)
		v = binary.BigEndian.AppendUint32(v, b.Length)
		v = binary.BigEndian.AppendUint32(v, b.RawLength)
	}
	return v
}

// parsePackHeader returns salt, size and refs of a pack value, checking
// that the rest is a whole number of blobs.
func parsePackHeader(id crypto.ID, v []byte) (salt pack.Salt, size int64, refs uint32, err error) {
	if len(v) < packHdrLen || (len(v)-packHdrLen)%packBlobLen != 0 {
		return salt, 0, 0, fmt.Errorf("pack %v: value of %d bytes: %w", id.Short(), len(v), ErrCorrupt)
	}
	copy(salt[:], v)
	size = int64(binary.BigEndian.Uint64(v[pack.SaltSize:]))
	refs = binary.BigEndian.Uint32(v[pack.SaltSize+8:])
	if size < 0 {
		return salt, 0, 0, fmt.Errorf("pack %v: size %d: %w", id.Short(), size, ErrCorrupt)
	}
	return salt, size, refs, nil
}

// parsePackValue decodes a whole pack value.
func parsePackValue(id crypto.ID, v []byte) (PackInfo, uint32, error) {
	salt, size, refs, err := parsePackHeader(id, v)
	if err != nil {
		return PackInfo{}, 0, err
	}
	p := PackInfo{ID: id, Salt: salt, Size: size}
	v = v[packHdrLen:]
	if n := len(v) / packBlobLen; n > 0 {
		p.Blobs = make([]pack.Blob, n)
	}
	for i := range p.Blobs {
		b := &p.Blobs[i]
		b.Type = pack.BlobType(v[0])
		copy(b.ID[:], v[1:])
		w := v[1+crypto.IDSize:]
		b.Offset = binary.BigEndian.Uint32(w)
		b.Length = binary.BigEndian.Uint32(w[4:])
		b.RawLength = binary.BigEndian.Uint32(w[8:])
		v = v[packBlobLen:]
	}
	return p, refs, nil
}

// withRefs returns a copy of a pack value with refs replaced.
func withRefs(v []byte, refs uint32) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	binary.BigEndian.PutUint32(out[pack.SaltSize+8:], refs)
	return out
}
