package pack

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"cairn/internal/crypto"
)

// Writer assembles one pack in memory: it seals every blob into one
// buffer (the arena) until Finalize, which needs the pack's size once more
// for the file it returns. Not safe for concurrent use: callers compress in
// parallel with Compress and hand the payloads to AddPayload from one
// goroutine.
type Writer struct {
	salt  Salt
	aead  *crypto.AEAD
	blobs []pendingBlob
	ids   map[crypto.ID]struct{}
	size  uint64 // pack header plus every blob so far
	// arena holds the sealed blobs (header and sealed payload) in the order
	// they were added; Buffer hands it back once Finalize has copied them.
	arena []byte
	// scratch is reused by Add for the compressed form, which AddPayload
	// copies into the sealed blob.
	scratch []byte
	done    bool
}

// pendingBlob is a sealed blob waiting for Finalize to place it.
type pendingBlob struct {
	entry trailerEntry // Offset is set by Finalize
	start int          // blob header and sealed payload: arena[start:start+entry.Length]
}

// NewWriter starts a pack with a fresh random salt.
func NewWriter(master *crypto.Key) (*Writer, error) {
	return NewWriterBuffer(master, nil)
}

// NewWriterBuffer is NewWriter sealing the blobs into buf's storage, which
// the writer then owns: a caller that knows the pack size passes a buffer
// of that capacity (from an earlier writer's Buffer) so that adding blobs
// neither allocates nor copies.
func NewWriterBuffer(master *crypto.Key, buf []byte) (*Writer, error) {
	if master == nil {
		return nil, fmt.Errorf("new pack writer: nil master key")
	}
	var salt Salt
	if _, err := crand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("new pack writer: read salt: %w", err)
	}
	return &Writer{
		salt:  salt,
		aead:  KeyFor(master, salt),
		ids:   make(map[crypto.ID]struct{}),
		size:  HeaderSize,
		arena: buf[:0],
	}, nil
}

// Buffer returns the writer's arena for reuse by another writer
// (NewWriterBuffer) once Finalize has returned, nil before. The pack's
// bytes from Finalize do not share it.
func (w *Writer) Buffer() []byte {
	if !w.done {
		return nil
	}
	b := w.arena[:0]
	w.arena = nil
	return b
}

// Add compresses and seals plaintext as blob id of type t.
func (w *Writer) Add(t BlobType, id crypto.ID, plaintext []byte) error {
	// Fail before spending time on compression.
	if err := w.check(t, id); err != nil {
		return err
	}
	out, compressed := compress(w.scratch, plaintext)
	w.scratch = out[:0]
	payload := plaintext
	if compressed {
		payload = out
	}
	return w.AddPayload(t, id, payload, compressed, len(plaintext))
}

// AddPayload seals a payload produced by Compress. rawLen is the length of
// the plaintext; for an uncompressed payload it must equal len(payload).
func (w *Writer) AddPayload(t BlobType, id crypto.ID, payload []byte, compressed bool, rawLen int) error {
	if err := w.check(t, id); err != nil {
		return err
	}
	if rawLen < 0 || uint64(rawLen) > MaxPackSize {
		return fmt.Errorf("add blob %s: raw length %d: %w", id.Short(), rawLen, ErrTooLarge)
	}
	var flags uint8
	if compressed {
		flags |= flagZstd
		if err := checkFrameSize(payload, rawLen); err != nil {
			return fmt.Errorf("add blob %s: %w", id.Short(), err)
		}
	} else if len(payload) != rawLen {
		return fmt.Errorf("add blob %s: uncompressed payload of %d bytes for raw length %d", id.Short(), len(payload), rawLen)
	}
	sealedLen := uint64(len(payload)) + crypto.Overhead
	h := blobHeader{typ: t, flags: flags, id: id, sealedLen: uint32(sealedLen), rawLen: uint32(rawLen)}
	// The trailer grows by one entry as well; keep the whole file in range.
	if w.size+h.length()+tailSize+minTrailerSealed+entrySize*uint64(len(w.blobs)+1) > MaxPackSize {
		return fmt.Errorf("add blob %s of %d bytes to a pack of %d bytes: %w", id.Short(), sealedLen, w.size, ErrTooLarge)
	}
	var hb [BlobHeaderSize]byte
	h.marshal(&hb)
	var ad [headerAuthSize]byte
	copy(ad[:], hb[:headerAuthSize]) // the AEAD's dst and additional data must not overlap
	start := len(w.arena)
	w.arena = append(w.arena, hb[:]...)
	w.arena = w.aead.Seal(w.arena, payload, ad[:])

	w.blobs = append(w.blobs, pendingBlob{
		entry: trailerEntry{
			Blob:  Blob{Type: t, ID: id, Length: uint32(h.length()), RawLength: uint32(rawLen)},
			flags: flags,
		},
		start: start,
	})
	w.ids[id] = struct{}{}
	w.size += h.length()
	return nil
}

// check rejects a blob the writer cannot take, whatever its content.
func (w *Writer) check(t BlobType, id crypto.ID) error {
	if w.done {
		return fmt.Errorf("add blob %s: %w", id.Short(), errFinalized)
	}
	if !t.valid() {
		return fmt.Errorf("add blob %s: unknown blob type %d", id.Short(), t)
	}
	if _, dup := w.ids[id]; dup {
		return fmt.Errorf("add blob %s: %w", id.Short(), ErrDuplicate)
	}
	return nil
}

// Size returns the pack's size so far, without the trailer.
func (w *Writer) Size() int { return int(w.size) }

// Count returns the number of blobs added.
func (w *Writer) Count() int { return len(w.blobs) }

// Finalize writes the blobs in random order and the trailer, returning the
// pack's bytes, its id (BLAKE3 of the bytes) and the blobs with offsets, in
// file order. The random order hides the order in which chunks were cut
// from their files. The writer cannot be used afterwards.
func (w *Writer) Finalize() (data []byte, id crypto.ID, salt Salt, blobs []Blob, err error) {
	return w.FinalizeInto(nil)
}

// FinalizeInto is Finalize writing the pack into buf's storage when its
// capacity suffices (a new buffer otherwise), so that callers can recycle
// pack buffers instead of allocating and zeroing 16 MiB per pack.
func (w *Writer) FinalizeInto(buf []byte) (data []byte, id crypto.ID, salt Salt, blobs []Blob, err error) {
	if w.done {
		return nil, id, salt, nil, fmt.Errorf("finalize pack: %w", errFinalized)
	}
	w.done = true
	if err := shuffle(w.blobs); err != nil {
		return nil, id, salt, nil, fmt.Errorf("finalize pack: %w", err)
	}
	sealedTrailer := uint64(minTrailerSealed) + entrySize*uint64(len(w.blobs))
	if need := w.size + sealedTrailer + tailSize; uint64(cap(buf)) >= need {
		data = buf[:0]
	} else {
		data = make([]byte, 0, need)
	}
	data = append(data, packMagic...)
	data = append(data, w.salt[:]...)
	entries := make([]trailerEntry, len(w.blobs))
	blobs = make([]Blob, len(w.blobs))
	for i := range w.blobs {
		p := &w.blobs[i]
		p.entry.Offset = uint32(len(data))
		data = append(data, w.arena[p.start:p.start+int(p.entry.Length)]...)
		entries[i] = p.entry
		blobs[i] = p.entry.Blob
	}
	data = w.aead.Seal(data, encodeTrailer(entries), []byte(trailerAD))
	data = binary.LittleEndian.AppendUint32(data, uint32(sealedTrailer))
	data = append(data, trailerMagic...)
	w.blobs, w.ids, w.scratch = nil, nil, nil
	return data, crypto.Hash(data), w.salt, blobs, nil
}

// shuffle permutes blobs uniformly with a ChaCha8 stream keyed from the
// system CSPRNG, so that the order cannot be predicted or reproduced.
func shuffle(blobs []pendingBlob) error {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return fmt.Errorf("seed shuffle: %w", err)
	}
	r := rand.New(rand.NewChaCha8(seed))
	r.Shuffle(len(blobs), func(i, j int) { blobs[i], blobs[j] = blobs[j], blobs[i] })
	return nil
}
