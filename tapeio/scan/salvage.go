package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"cairn/internal/crypto"
	"cairn/pack"
)

// salvage re-packs the intact blobs of packs that did not arrive whole:
// each blob lying wholly in bytes that arrived is decrypted and checked
// (pack.DecodeBlob verifies tag, length and keyed id) and stored again
// with SaveBlobWithID, into new packs. So a damaged block costs exactly
// the blobs that overlap it; the rest of its pack lives on.
func (b *rebuilder) salvage(ctx context.Context) error {
	for _, pc := range b.damaged {
		loss, err := b.salvagePack(ctx, pc)
		if err != nil {
			return err
		}
		b.rep.IncompletePacks = append(b.rep.IncompletePacks, loss)
		b.rep.BlobsSalvaged += loss.Salvaged
		b.rep.BlobsLost += len(loss.Lost)
	}
	return b.r.Flush(ctx)
}

func (b *rebuilder) salvagePack(ctx context.Context, pc *packCopies) (PackLoss, error) {
	loss := PackLoss{ID: pc.id.String()}
	data, cov, size, err := pc.merge()
	if err != nil {
		return loss, err
	}
	end := size
	if end < 0 {
		end = int64(len(data))
		loss.Reason = "the end of the pack was not found"
	}
	loss.Holes = cov.holes(end)
	if !cov.covers(0, pack.HeaderSize) {
		loss.Reason = "the pack header (its salt) was lost: no blob can be decrypted"
		return loss, nil
	}
	salt, err := pack.ReadHeader(data[:pack.HeaderSize])
	if err != nil {
		loss.Reason = fmt.Sprintf("pack header: %v", err)
		return loss, nil
	}
	blobs, fromTrailer := b.listBlobs(data, cov, size)
	if !fromTrailer && loss.Reason == "" {
		loss.Reason = "trailer lost: blobs found by their headers; blobs whose header was lost are not listed"
	}
	aead := pack.KeyFor(b.r.Key(), salt)
	for _, bl := range blobs {
		s, e := int64(bl.Offset), int64(bl.Offset)+int64(bl.Length)
		var plain []byte
		if e <= int64(len(data)) && cov.covers(s, e) {
			plain, err = pack.DecodeBlob(b.r.Key(), aead, data[s:e], bl, nil)
		}
		if plain == nil || err != nil {
			loss.Lost = append(loss.Lost, bl.ID.String())
			continue
		}
		if _, err := b.r.SaveBlobWithID(ctx, bl.Type, bl.ID, plain); err != nil {
			return loss, err
		}
		loss.Salvaged++
	}
	return loss, nil
}

// listBlobs lists a damaged pack's blobs: from its sealed trailer when
// that arrived (exact, and it names the lost blobs too), else by walking
// the plaintext blob headers and re-synchronising after each hole.
func (b *rebuilder) listBlobs(data []byte, cov spans, size int64) ([]pack.Blob, bool) {
	if size >= 8 && cov.covers(size-8, size) {
		if _, blobs, err := pack.List(b.r.Key(), bytes.NewReader(data[:size]), size); err == nil {
			return blobs, true
		}
	}
	return walkHeaders(data, cov), false
}

// Blob header layout (docs/format-pack.md): magic "CB", type, flags, id
// (32), sealed length u32, raw length u32, CRC-32C of the first 44 bytes.
const (
	blobHeaderSize = pack.BlobHeaderSize
	minSealed      = crypto.Overhead
)

var blobCRC = crc32.MakeTable(crc32.Castagnoli)

// parseBlobHeader returns the blob whose header is at data[pos:], if the
// bytes there are a plausible header with a valid checksum. A false match
// (odds 2^-48 per position) is caught by DecodeBlob's authentication.
func parseBlobHeader(data []byte, pos int64) (pack.Blob, bool) {
	if pos+blobHeaderSize > int64(len(data)) {
		return pack.Blob{}, false
	}
	h := data[pos : pos+blobHeaderSize]
	le := binary.LittleEndian
	if h[0] != 'C' || h[1] != 'B' || le.Uint32(h[44:]) != crc32.Checksum(h[:44], blobCRC) {
		return pack.Blob{}, false
	}
	t := pack.BlobType(h[2])
	sealed := int64(le.Uint32(h[36:]))
	if (t != pack.DataBlob && t != pack.TreeBlob) || sealed < minSealed || pos+blobHeaderSize+sealed > pack.MaxPackSize {
		return pack.Blob{}, false
	}
	bl := pack.Blob{Type: t, Offset: uint32(pos), Length: uint32(blobHeaderSize + sealed), RawLength: le.Uint32(h[40:])}
	copy(bl.ID[:], h[4:36])
	return bl, true
}

// walkHeaders finds the blobs of a pack with holes by their headers.
func walkHeaders(data []byte, cov spans) []pack.Blob {
	var out []pack.Blob
	pos := int64(pack.HeaderSize)
	for pos+blobHeaderSize <= int64(len(data)) {
		if cov.covers(pos, pos+blobHeaderSize) {
			if bl, ok := parseBlobHeader(data, pos); ok {
				out = append(out, bl)
				pos += int64(bl.Length)
				continue
			}
		}
		pos = nextHeader(data, cov, pos+1)
		if pos < 0 {
			break
		}
	}
	return out
}

// nextHeader returns the first position from pos on where an intact blob
// header starts, or -1.
func nextHeader(data []byte, cov spans, pos int64) int64 {
	for pos < int64(len(data)) {
		i := bytes.Index(data[pos:], []byte("CB"))
		if i < 0 {
			return -1
		}
		pos += int64(i)
		if cov.covers(pos, pos+blobHeaderSize) {
			if _, ok := parseBlobHeader(data, pos); ok {
				return pos
			}
		}
		pos++
	}
	return -1
}
