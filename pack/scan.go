package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Scan reads a pack front to back without the trailer and without a key,
// calling fn for every blob header found. It stops at the trailer or at the
// first damaged header, returning an error wrapping ErrFormat in that case.
//
// fn is called for a blob once its header verified and its whole sealed
// payload was read (not decrypted), so after an error fn has seen exactly
// the intact blobs before the damage. Scan also checks that the trailer's
// length matches the number of blobs found, which catches a blob cut out of
// the middle. An error from fn stops the scan and is returned unwrapped.
// Memory use is constant: payloads are skipped, not buffered.
func Scan(rd io.Reader, fn func(Blob) error) (Salt, error) {
	var salt Salt
	var head [HeaderSize]byte
	if _, err := io.ReadFull(rd, head[:]); err != nil {
		return salt, fmt.Errorf("scan pack header: %w", eofFormat(err))
	}
	salt, err := ReadHeader(head[:])
	if err != nil {
		return salt, fmt.Errorf("scan pack: %w", err)
	}
	pos := int64(HeaderSize)
	found := 0
	var hb [BlobHeaderSize]byte
	for {
		n, err := io.ReadFull(rd, hb[:])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return salt, fmt.Errorf("scan pack at offset %d: %w", pos, err)
		}
		if n < BlobHeaderSize {
			// Too short for a blob header: only the trailer may be left.
			if err := checkTrailer(hb[:n], rd, found); err != nil {
				return salt, fmt.Errorf("scan pack at offset %d: %w", pos, err)
			}
			return salt, nil
		}
		h, herr := parseBlobHeader(hb[:])
		if herr != nil {
			// Either the trailer starts here (its random nonce rarely looks
			// like a header) or this header is damaged: only the former
			// leaves exactly a trailer's worth of bytes.
			terr := checkTrailer(hb[:], rd, found)
			if terr == nil {
				return salt, nil
			}
			if !errors.Is(terr, ErrFormat) || errors.Is(terr, errTrailerCount) {
				// An I/O error, or a well-formed trailer here that lists
				// more or fewer blobs than were found before it.
				return salt, fmt.Errorf("scan pack at offset %d: %w", pos, terr)
			}
			return salt, fmt.Errorf("scan pack: damaged blob header at offset %d: %w", pos, herr)
		}
		if pos+int64(h.length()) > MaxPackSize {
			return salt, fmt.Errorf("scan pack: blob %s at offset %d ends beyond the pack size limit: %w", h.id.Short(), pos, ErrFormat)
		}
		if skipped, err := io.CopyN(io.Discard, rd, int64(h.sealedLen)); err != nil {
			return salt, fmt.Errorf("scan pack: blob %s at offset %d: payload cut after %d of %d bytes: %w",
				h.id.Short(), pos, skipped, h.sealedLen, eofFormat(err))
		}
		b := Blob{Type: h.typ, ID: h.id, Offset: uint32(pos), Length: uint32(h.length()), RawLength: h.rawLen}
		if err := fn(b); err != nil {
			return salt, err
		}
		pos += int64(h.length())
		found++
	}
}

// errTrailerCount marks a well-formed trailer tail whose length implies
// another number of blobs than Scan found.
var errTrailerCount = errors.New("blob count mismatch")

// checkTrailer verifies that prefix and the rest of rd are exactly a sealed
// trailer listing blobs entries, then its length and magic. It reads rd to
// its end; the trailer's content is not checked (that needs the key).
func checkTrailer(prefix []byte, rd io.Reader, blobs int) error {
	t := tailKeeper{}
	_, _ = t.Write(prefix)
	if _, err := io.Copy(&t, rd); err != nil {
		return fmt.Errorf("read pack trailer: %w", err)
	}
	if t.n < tailSize+minTrailerSealed {
		return fmt.Errorf("%d bytes left, too few for a trailer (truncated pack?): %w", t.n, ErrFormat)
	}
	if string(t.last[4:]) != trailerMagic {
		return fmt.Errorf("no trailer magic at the end (truncated pack?): %w", ErrFormat)
	}
	sealedLen := int64(binary.LittleEndian.Uint32(t.last[:4]))
	if sealedLen != t.n-tailSize {
		return fmt.Errorf("trailer length %d, but %d bytes left before the tail: %w", sealedLen, t.n-tailSize, ErrFormat)
	}
	if listed := (sealedLen - minTrailerSealed) / entrySize; (sealedLen-minTrailerSealed)%entrySize != 0 || listed != int64(blobs) {
		return fmt.Errorf("trailer of %d bytes does not list the %d blobs found: %w: %w", sealedLen, blobs, errTrailerCount, ErrFormat)
	}
	return nil
}

// tailKeeper counts the bytes written to it and keeps the last tailSize.
type tailKeeper struct {
	n    int64
	last [tailSize]byte
}

func (t *tailKeeper) Write(p []byte) (int, error) {
	t.n += int64(len(p))
	if len(p) >= tailSize {
		copy(t.last[:], p[len(p)-tailSize:])
	} else {
		copy(t.last[:], t.last[len(p):])
		copy(t.last[tailSize-len(p):], p)
	}
	return len(p), nil
}

// eofFormat turns an early end of input into ErrFormat: the pack is
// truncated. Other errors (I/O) pass through.
func eofFormat(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", err, ErrFormat)
	}
	return err
}
