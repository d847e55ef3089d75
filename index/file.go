package index

import (
	"encoding/binary"
	"fmt"
	"math"

	"cairn/internal/crypto"
	"cairn/pack"
)

// fileVersion is the first byte of an index file's plaintext.
const fileVersion = 1

// fileAD is the AEAD additional data of index files: it binds the sealed
// bytes to their role, so a snapshot or lock sealed with the same key can
// never be opened as an index file.
var fileAD = []byte("cairn index v1")

// Minimum encoded sizes, used to bound counts read from untrusted data
// before anything is allocated for them.
const (
	minPackLen = crypto.IDSize + pack.SaltSize + 1 + 1 // id, salt, size, count
	minBlobLen = 1 + crypto.IDSize + 1 + 1 + 1         // type, id, three varints
)

// Encode seals the file for storage under index/<BLAKE3 of result>. It
// returns an error wrapping ErrFormat if the file cannot be represented
// (see docs/format-index.md for the rules).
func (f *File) Encode(aead *crypto.AEAD) ([]byte, error) {
	plain, err := f.appendPlain(nil)
	if err != nil {
		return nil, err
	}
	return aead.Seal(make([]byte, 0, len(plain)+crypto.Overhead), plain, fileAD), nil
}

// Decode opens and parses a sealed index file. A tag that does not verify
// gives an error wrapping crypto.ErrAuth; a plaintext that does not parse
// one wrapping ErrFormat.
func Decode(aead *crypto.AEAD, data []byte) (*File, error) {
	plain, err := aead.Open(nil, data, fileAD)
	if err != nil {
		return nil, fmt.Errorf("open index file: %w", err)
	}
	return decodePlain(plain)
}

// BlobCount returns the number of blobs the file lists.
func (f *File) BlobCount() int {
	n := 0
	for i := range f.Packs {
		n += len(f.Packs[i].Blobs)
	}
	return n
}

// validate checks what Decode would reject, so that Encode never writes a
// file that cannot be read back and the cache never stores one.
func (f *File) validate() error {
	seen := make(map[crypto.ID]struct{}, len(f.Packs))
	for i := range f.Packs {
		p := &f.Packs[i]
		if _, dup := seen[p.ID]; dup {
			return fmt.Errorf("pack %v listed twice: %w", p.ID.Short(), ErrFormat)
		}
		seen[p.ID] = struct{}{}
		if p.Size < 0 {
			return fmt.Errorf("pack %v: negative size %d: %w", p.ID.Short(), p.Size, ErrFormat)
		}
		for j := range p.Blobs {
			if err := checkBlob(&p.Blobs[j], uint64(p.Size)); err != nil {
				return fmt.Errorf("pack %v blob %d: %w", p.ID.Short(), j, err)
			}
		}
	}
	return nil
}

// checkBlob validates one blob of a pack of the given size.
func checkBlob(b *pack.Blob, size uint64) error {
	if b.Type != pack.DataBlob && b.Type != pack.TreeBlob {
		return fmt.Errorf("invalid blob type %d: %w", b.Type, ErrFormat)
	}
	if uint64(b.Offset)+uint64(b.Length) > size {
		return fmt.Errorf("blob at %d+%d beyond pack size %d: %w", b.Offset, b.Length, size, ErrFormat)
	}
	return nil
}

// appendPlain appends the file's plaintext encoding to dst.
func (f *File) appendPlain(dst []byte) ([]byte, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	n := 1 + 2*binary.MaxVarintLen64 + len(f.Supersedes)*crypto.IDSize
	for i := range f.Packs {
		n += minPackLen + 2*binary.MaxVarintLen64 + len(f.Packs[i].Blobs)*(1+crypto.IDSize+3*binary.MaxVarintLen32)
	}
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = append(dst, fileVersion)
	dst = binary.AppendUvarint(dst, uint64(len(f.Packs)))
	for i := range f.Packs {
		p := &f.Packs[i]
		dst = append(dst, p.ID[:]...)
		dst = append(dst, p.Salt[:]...)
		dst = binary.AppendUvarint(dst, uint64(p.Size))
		dst = binary.AppendUvarint(dst, uint64(len(p.Blobs)))
		for j := range p.Blobs {
			b := &p.Blobs[j]
			dst = append(dst, byte(b.Type))
			dst = append(dst, b.ID[:]...)
			dst = binary.AppendUvarint(dst, uint64(b.Offset))
			dst = binary.AppendUvarint(dst, uint64(b.Length))
			dst = binary.AppendUvarint(dst, uint64(b.RawLength))
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(f.Supersedes)))
	for _, id := range f.Supersedes {
		dst = append(dst, id[:]...)
	}
	return dst, nil
}

// decodePlain parses an index file's plaintext. It accepts exactly the
// canonical encoding appendPlain produces (minimal varints, no trailing
// bytes), so a decoded file re-encodes to the same bytes.
func decodePlain(b []byte) (*File, error) {
	r := reader{buf: b}
	if v := r.byte(); r.err == nil && v != fileVersion {
		return nil, fmt.Errorf("index file version %d, want %d: %w", v, fileVersion, ErrFormat)
	}
	f := &File{}
	nPacks := r.count(minPackLen, "pack count")
	if nPacks > 0 {
		f.Packs = make([]PackInfo, nPacks)
	}
	seen := make(map[crypto.ID]struct{}, nPacks)
	for i := 0; i < nPacks && r.err == nil; i++ {
		p := &f.Packs[i]
		r.id(&p.ID)
		r.bytes(p.Salt[:])
		p.Size = int64(r.uvarint(math.MaxInt64, "pack size"))
		nBlobs := r.count(minBlobLen, "blob count")
		if r.err != nil {
			break
		}
		if _, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("pack %v listed twice: %w", p.ID.Short(), ErrFormat)
		}
		seen[p.ID] = struct{}{}
		if nBlobs > 0 {
			p.Blobs = make([]pack.Blob, nBlobs)
		}
		for j := 0; j < nBlobs && r.err == nil; j++ {
			bl := &p.Blobs[j]
			bl.Type = pack.BlobType(r.byte())
			r.id(&bl.ID)
			bl.Offset = uint32(r.uvarint(math.MaxUint32, "blob offset"))
			bl.Length = uint32(r.uvarint(math.MaxUint32, "blob length"))
			bl.RawLength = uint32(r.uvarint(math.MaxUint32, "blob raw length"))
			if r.err == nil {
				if err := checkBlob(bl, uint64(p.Size)); err != nil {
					return nil, fmt.Errorf("pack %v blob %d: %w", p.ID.Short(), j, err)
				}
			}
		}
	}
	nSup := r.count(crypto.IDSize, "supersedes count")
	if nSup > 0 && r.err == nil {
		f.Supersedes = make([]crypto.ID, nSup)
	}
	for i := 0; i < nSup && r.err == nil; i++ {
		r.id(&f.Supersedes[i])
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.buf) != 0 {
		return nil, fmt.Errorf("%d trailing bytes: %w", len(r.buf), ErrFormat)
	}
	return f, nil
}
