package check

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/zeebo/blake3"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
)

// packResult is what verifying one pack found.
type packResult struct {
	probs   []Problem
	damaged []crypto.ID
	size    int64 // bytes read
}

func (res *packResult) bad(p index.PackInfo, kind, msg string, blobs ...crypto.ID) {
	res.probs = append(res.probs, Problem{Kind: kind, Pack: p.ID.String(), Message: fmt.Sprintf("pack %s: %s", p.ID.Short(), msg)})
	res.damaged = append(res.damaged, blobs...)
}

// missingPack is the result for a pack that could not be read: all its
// blobs are damaged.
func missingPack(p index.PackInfo, err error) packResult {
	var res packResult
	ids := make([]crypto.ID, 0, len(p.Blobs))
	for _, b := range p.Blobs {
		ids = append(ids, b.ID)
	}
	res.bad(p, "missing_pack", fmt.Sprintf("cannot be read: %v", err), ids...)
	return res
}

// verifyPack checks one pack held in data: its trailer against the index,
// every indexed blob (header, AEAD tag, decompression, keyed id) and the
// BLAKE3 hash of the whole file against its name. It makes one pass over
// the bytes in file order: each blob's bytes are hashed and then decoded
// while still in the CPU cache. scratch is the caller's plaintext buffer,
// returned (possibly grown) for the next pack.
func verifyPack(key *crypto.Key, p index.PackInfo, data []byte, scratch []byte) (packResult, []byte) {
	res := packResult{size: int64(len(data))}
	salt, listed, err := pack.List(key, byteReaderAt(data), int64(len(data)))
	if err != nil {
		res.bad(p, "damaged_pack", fmt.Sprintf("trailer unreadable: %v", err))
	} else {
		if salt != p.Salt {
			res.bad(p, "index", "salt differs from the index")
		}
		inPack := make(map[crypto.ID]pack.Blob, len(listed))
		for _, b := range listed {
			inPack[b.ID] = b
		}
		for _, b := range p.Blobs {
			if lb, ok := inPack[b.ID]; !ok || lb != b {
				res.bad(p, "index", fmt.Sprintf("index entry for blob %s does not match the pack's trailer", b.ID.Short()))
			}
		}
	}
	blobs := slices.Clone(p.Blobs)
	slices.SortFunc(blobs, func(a, b pack.Blob) int { return cmp.Compare(a.Offset, b.Offset) })
	aead := pack.KeyFor(key, p.Salt)
	h := blake3.New()
	hashed := 0 // data[:hashed] went into h
	for _, b := range blobs {
		end := int64(b.Offset) + int64(b.Length)
		if end > int64(len(data)) {
			res.bad(p, "damaged_blob", fmt.Sprintf("blob %s lies past the end of the pack", b.ID.Short()), b.ID)
			continue
		}
		if int(end) > hashed {
			_, _ = h.Write(data[hashed:end]) // a hash never fails to write
			hashed = int(end)
		}
		out, err := pack.DecodeBlob(key, aead, data[b.Offset:end], b, scratch[:0])
		if err != nil {
			res.probs = append(res.probs, Problem{Kind: "damaged_blob", Pack: p.ID.String(), Blob: b.ID.String(), Message: fmt.Sprintf("pack %s: blob %s: %v", p.ID.Short(), b.ID.Short(), err)})
			res.damaged = append(res.damaged, b.ID)
			continue
		}
		scratch = out[:0]
	}
	_, _ = h.Write(data[hashed:])
	var got crypto.ID
	copy(got[:], h.Sum(nil))
	if got != p.ID {
		res.bad(p, "damaged_pack", fmt.Sprintf("content hashes to %s (damaged)", got.Short()))
	}
	return res, scratch
}
