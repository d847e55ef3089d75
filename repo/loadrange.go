package repo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cairn/index"
	"cairn/pack"
	"cairn/repo/backend"
)

// LoadBlobs loads blobs that all lie in one pack, sorted by offset, with a
// single ranged read from the first blob's start to the last one's end,
// and calls fn for each blob in order with its verified plaintext or the
// error decoding it (naming blob and pack). The plaintext is only valid
// during the call. Bytes between the blobs are read and ignored, so
// callers join blobs into one call only when the gaps are small.
//
// An error reading the range is returned without calling fn; an error
// from fn stops the loop and is returned as is. bufs holds the read and
// plaintext buffers between calls (one per goroutine).
func (r *Repository) LoadBlobs(ctx context.Context, blobs []index.Entry, bufs *pack.Buffers, fn func(e index.Entry, plaintext []byte, err error) error) error {
	if len(blobs) == 0 {
		return nil
	}
	p := blobs[0].Pack
	start := int64(blobs[0].Offset)
	end := start
	for i, e := range blobs {
		if e.Pack != p || (i > 0 && e.Offset < blobs[i-1].Offset) {
			return fmt.Errorf("load blobs of pack %s: blob %s is not in the pack or out of order", p.Short(), e.ID.Short())
		}
		end = max(end, int64(e.Offset)+int64(e.Length))
	}
	aead, err := r.packAEAD(p)
	if err != nil {
		return err
	}
	raw, err := readRange(ctx, r.be, backend.Handle{Type: backend.PackFile, Name: p.String()}, start, int(end-start), bufs.Raw)
	if err != nil {
		return fmt.Errorf("load %d blobs from pack %s at %d: %w", len(blobs), p, start, err)
	}
	bufs.Raw = raw
	for _, e := range blobs {
		off := int64(e.Offset) - start
		out, err := pack.DecodeBlob(r.key, aead, raw[off:off+int64(e.Length)], pack.Blob{Type: e.Type, ID: e.ID, Offset: e.Offset, Length: e.Length, RawLength: e.RawLength}, bufs.Plain[:0])
		if err != nil {
			err = fmt.Errorf("blob %s in pack %s: %w", e.ID.Short(), e.Pack, err)
		} else {
			bufs.Plain = out
		}
		if err := fn(e, out, err); err != nil {
			return err
		}
	}
	return nil
}

// readRange reads exactly length bytes at offset of h into buf's storage
// (grown when too small). The backend may call the callback again on a
// retry; each call starts over.
func readRange(ctx context.Context, be backend.Backend, h backend.Handle, offset int64, length int, buf []byte) ([]byte, error) {
	if cap(buf) < length {
		buf = make([]byte, length)
	}
	buf = buf[:length]
	err := be.Load(ctx, h, length, offset, func(rd io.Reader) error {
		_, err := io.ReadFull(rd, buf)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf, nil
}
