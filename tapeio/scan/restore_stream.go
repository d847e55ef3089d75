package scan

import (
	"fmt"
	"sort"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
)

// packStream cuts the blobs a restore wants out of one pack as its blocks
// stream by, using the pack's index entry (offsets, lengths, salt): no
// trailer, no header walk. It holds at most one blob and one block, so
// memory does not grow with the pack. Blocks must come in data-offset
// order; a gap (a damaged block) loses exactly the wanted blobs that
// overlap it.
type packStream struct {
	id       crypto.ID
	aead     *crypto.AEAD
	wanted   []pack.Blob // by offset
	next     int
	buf      []byte
	bufStart int64
	// deliver gets each wanted blob's verified plaintext; lost each
	// wanted blob that did not arrive intact, with the reason.
	deliver func(b pack.Blob, plain []byte) error
	lost    func(b pack.Blob, why error)
	key     *crypto.Key
	plain   []byte
}

func newPackStream(key *crypto.Key, pi *index.PackInfo, wanted []pack.Blob, deliver func(pack.Blob, []byte) error, lost func(pack.Blob, error)) *packStream {
	sort.Slice(wanted, func(i, j int) bool { return wanted[i].Offset < wanted[j].Offset })
	return &packStream{id: pi.ID, key: key, aead: pack.KeyFor(key, pi.Salt), wanted: wanted, deliver: deliver, lost: lost}
}

// done reports whether every wanted blob was delivered or lost.
func (s *packStream) done() bool { return s.next >= len(s.wanted) }

// add feeds the data of one block at offset off of the pack.
func (s *packStream) add(off int64, data []byte) error {
	if s.done() {
		return nil
	}
	if end := s.bufStart + int64(len(s.buf)); off != end || len(s.buf) == 0 {
		if off < end && len(s.buf) > 0 {
			return nil // a block already seen (a second copy of a fragment)
		}
		if len(s.buf) > 0 || off > s.bufStart {
			s.loseBefore(off, fmt.Errorf("pack %s: bytes %d to %d not read (damaged block)", s.id.Short(), end, off))
		}
		s.buf, s.bufStart = s.buf[:0], off
	}
	s.buf = append(s.buf, data...)
	for !s.done() {
		b := s.wanted[s.next]
		start, end := int64(b.Offset), int64(b.Offset)+int64(b.Length)
		if start < s.bufStart {
			s.lost(b, fmt.Errorf("pack %s: blob at %d starts before the data read", s.id.Short(), start))
			s.next++
			continue
		}
		if end > s.bufStart+int64(len(s.buf)) {
			break
		}
		plain, err := pack.DecodeBlob(s.key, s.aead, s.buf[start-s.bufStart:end-s.bufStart], b, s.plain[:0])
		s.next++
		if err != nil {
			s.lost(b, err)
			continue
		}
		s.plain = plain
		if err := s.deliver(b, plain); err != nil {
			return err
		}
	}
	// Keep only what the next wanted blob needs.
	keep := s.bufStart + int64(len(s.buf))
	if !s.done() {
		keep = min(keep, int64(s.wanted[s.next].Offset))
	}
	if drop := keep - s.bufStart; drop > 0 {
		s.buf = append(s.buf[:0], s.buf[drop:]...)
		s.bufStart = keep
	}
	return nil
}

// loseBefore gives up the wanted blobs that start before off: the bytes
// between what was read and off are gone.
func (s *packStream) loseBefore(off int64, why error) {
	for !s.done() && int64(s.wanted[s.next].Offset) < off {
		s.lost(s.wanted[s.next], why)
		s.next++
	}
}

// finish loses what never arrived (the pack ended early on tape).
func (s *packStream) finish() {
	for !s.done() {
		s.lost(s.wanted[s.next], fmt.Errorf("pack %s: the end of the pack was not read", s.id.Short()))
		s.next++
	}
}
