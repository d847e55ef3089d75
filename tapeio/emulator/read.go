package emulator

import (
	"fmt"

	"cairn/tapeio"
)

// ReadRecord implements tapeio.Drive.
func (d *Drive) ReadRecord(buf []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return 0, err
	}
	prevFM := d.prevFM
	d.moved()
	d.reads++
	if d.blockSize == 0 {
		return d.readVariable(buf, prevFM)
	}
	return d.readFixed(buf, prevFM)
}

// special handles a filemark or the end of data at the current position.
// ok is false when the next entry is a record.
func (d *Drive) special(prevFM bool) (ok bool, err error) {
	if d.pos == len(d.entries) {
		return true, fmt.Errorf("%s: %w", d.path, tapeio.ErrEndOfData)
	}
	if !d.entries[d.pos].fm {
		return false, nil
	}
	d.pos++
	if prevFM {
		// Two filemarks in a row: the traditional end of data.
		return true, fmt.Errorf("%s: second filemark: %w", d.path, tapeio.ErrEndOfData)
	}
	d.prevFM = true
	return true, tapeio.ErrFilemark
}

func (d *Drive) readVariable(buf []byte, prevFM bool) (int, error) {
	if ok, err := d.special(prevFM); ok {
		return 0, err
	}
	if d.reads == d.opts.Faults.FailRead {
		d.pos++
		return 0, fmt.Errorf("%s: injected read failure (read %d): %w", d.path, d.reads, tapeio.ErrIO)
	}
	if n := int(d.entries[d.pos].n); n > len(buf) {
		d.pos++
		return 0, fmt.Errorf("%s: record of %d bytes, buffer of %d: %w", d.path, n, len(buf), tapeio.ErrBufferTooSmall)
	}
	return d.readEntry(buf)
}

func (d *Drive) readFixed(buf []byte, prevFM bool) (int, error) {
	bs := d.blockSize
	if len(buf) == 0 || len(buf)%bs != 0 {
		return 0, fmt.Errorf("%s: read of %d bytes in fixed %d-byte mode: %w", d.path, len(buf), bs, tapeio.ErrInvalidBlockSize)
	}
	if ok, err := d.special(prevFM); ok {
		return 0, err
	}
	if d.reads == d.opts.Faults.FailRead {
		d.pos++
		return 0, fmt.Errorf("%s: injected read failure (read %d): %w", d.path, d.reads, tapeio.ErrIO)
	}
	total := 0
	for total < len(buf) && d.pos < len(d.entries) && !d.entries[d.pos].fm {
		if n := int(d.entries[d.pos].n); n != bs {
			if total > 0 {
				break // deliver what we have; the next read reports it
			}
			d.pos++
			return 0, fmt.Errorf("%s: %d-byte record in fixed %d-byte mode: %w", d.path, n, bs, tapeio.ErrInvalidBlockSize)
		}
		n, err := d.readEntry(buf[total:])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readEntry reads the record at d.pos into dst and moves past it. A bad
// checksum is a medium error, as an unreadable block is on a real drive.
func (d *Drive) readEntry(dst []byte) (int, error) {
	e := d.entries[d.pos]
	block := int64(d.pos - d.fileAt(d.pos))
	d.pos++
	data := dst[:e.n]
	if _, err := d.f.ReadAt(data, e.off+entryHeadLen); err != nil {
		return 0, fmt.Errorf("%s: read record %d: %w: %w", d.path, block, tapeio.ErrIO, err)
	}
	if entryCRC(typeRecord, e.n, data) != e.crc {
		return 0, fmt.Errorf("%s: record %d: medium error (checksum): %w", d.path, block, tapeio.ErrIO)
	}
	for _, fl := range d.opts.Faults.Flips {
		if fl.Block == block {
			bit := fl.Bit % (len(data) * 8)
			data[bit/8] ^= 1 << (bit % 8)
		}
	}
	return len(data), nil
}
