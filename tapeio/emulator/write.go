package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"cairn/tapeio"
)

// WriteRecord implements tapeio.Drive. In the early-warning zone it follows
// st: the write that enters the zone completes, the next one is refused
// with tapeio.ErrEndOfMedium, the one after that is accepted again (room
// for a trailer), and so on until the capacity refuses it outright.
func (d *Drive) WriteRecord(p []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	if len(p) == 0 || len(p) > d.maxRec {
		return fmt.Errorf("%s: write of %d bytes: %w", d.path, len(p), tapeio.ErrInvalidBlockSize)
	}
	count, size := 1, len(p)
	if d.blockSize > 0 {
		if len(p)%d.blockSize != 0 {
			return fmt.Errorf("%s: write of %d bytes in fixed %d-byte mode: %w", d.path, len(p), d.blockSize, tapeio.ErrInvalidBlockSize)
		}
		count, size = len(p)/d.blockSize, d.blockSize
	}
	d.writes++
	if d.writes == d.opts.Faults.FailWrite {
		return fmt.Errorf("%s: injected write failure (write %d): %w", d.path, d.writes, tapeio.ErrIO)
	}
	if d.ewPending {
		d.ewPending = false
		return fmt.Errorf("%s: early warning: %w", d.path, tapeio.ErrEndOfMedium)
	}
	buf := d.scratch[:0]
	for i := 0; i < count; i++ {
		buf = appendEntry(buf, typeRecord, p[i*size:(i+1)*size])
	}
	d.scratch = buf
	start, err := d.put(buf)
	if err != nil {
		return err
	}
	for i := 0; i < count; i++ {
		off := int64(i * (entryHeadLen + size))
		crc := binary.LittleEndian.Uint32(buf[off+5:])
		d.entries = append(d.entries, entry{off: start + off, n: uint32(size), crc: crc})
	}
	d.pos = len(d.entries)
	d.lastWrite, d.prevFM = true, false
	if start+int64(len(buf)) >= d.ewPoint {
		d.ewPending = true
	}
	return nil
}

// WriteFilemarks implements tapeio.Drive. Filemarks are accepted in the
// early-warning zone and make everything before them durable (fsync).
func (d *Drive) WriteFilemarks(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%s: write %d filemarks: negative count", d.path, n)
	}
	return d.writeFilemarks(n)
}

func (d *Drive) writeFilemarks(n int) error {
	if n > 0 {
		var buf []byte
		for i := 0; i < n; i++ {
			buf = appendEntry(buf, typeFilemark, nil)
		}
		start, err := d.put(buf)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			d.fms = append(d.fms, len(d.entries))
			d.entries = append(d.entries, entry{off: start + int64(i*entryHeadLen), crc: entryCRC(typeFilemark, 0, nil), fm: true})
		}
		d.pos = len(d.entries)
		d.ewPending, d.lastWrite, d.prevFM = false, false, false
	}
	if !d.dirty {
		return nil
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w: %w", d.path, tapeio.ErrIO, err)
	}
	d.dirty = false
	return nil
}

func (d *Drive) writable() error {
	if err := d.check(); err != nil {
		return err
	}
	if d.opts.ReadOnly {
		return fmt.Errorf("%s: %w", d.path, tapeio.ErrWriteProtected)
	}
	return nil
}

// put writes encoded entries at the current position, discarding what
// follows on the tape, and returns their offset. The entry index is
// truncated to d.pos; the caller appends the new entries.
func (d *Drive) put(buf []byte) (int64, error) {
	start := d.offsetAt(d.pos)
	if start+int64(len(buf)) > d.capacity {
		d.eot = true
		return 0, fmt.Errorf("%s: physical end of tape: %w", d.path, tapeio.ErrEndOfMedium)
	}
	if d.pos < len(d.entries) {
		if err := d.f.Truncate(start); err != nil {
			return 0, fmt.Errorf("%s: truncate at %d: %w: %w", d.path, start, tapeio.ErrIO, err)
		}
		d.entries = d.entries[:d.pos]
		d.fms = d.fms[:d.fileAt(d.pos)]
	}
	d.dirty = true
	if _, err := d.f.WriteAt(buf, start); err != nil {
		// Leave no partial entry behind; the index already ends at start.
		_ = d.f.Truncate(start)
		if errors.Is(err, syscall.ENOSPC) {
			// The file system is the medium's physical end.
			d.eot = true
			return 0, fmt.Errorf("%s: file system full: %w", d.path, tapeio.ErrEndOfMedium)
		}
		return 0, fmt.Errorf("%s: write at %d: %w: %w", d.path, start, tapeio.ErrIO, err)
	}
	return start, nil
}
