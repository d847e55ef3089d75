package emulator

import (
	"fmt"

	"cairn/tapeio"
)

// Rewind implements tapeio.Drive.
func (d *Drive) Rewind() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	d.moved()
	d.pos = 0
	return nil
}

// SeekEndOfData implements tapeio.Drive.
func (d *Drive) SeekEndOfData() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	d.moved()
	d.pos = len(d.entries)
	return nil
}

// SpaceFiles implements tapeio.Drive.
func (d *Drive) SpaceFiles(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	d.moved()
	before := d.fileAt(d.pos) // filemarks strictly before the position
	switch {
	case n > 0:
		target := before + n - 1
		if target >= len(d.fms) {
			d.pos = len(d.entries)
			return fmt.Errorf("%s: space %d files: %w", d.path, n, tapeio.ErrEndOfData)
		}
		d.pos = d.fms[target] + 1
	case n < 0:
		if -n > before {
			d.pos = 0
			return fmt.Errorf("%s: space %d files: %w", d.path, n, tapeio.ErrBeginningOfMedium)
		}
		d.pos = d.fms[before+n]
	}
	return nil
}

// SpaceRecords implements tapeio.Drive.
func (d *Drive) SpaceRecords(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	d.moved()
	for ; n > 0; n-- {
		if d.pos == len(d.entries) {
			return fmt.Errorf("%s: space records: %w", d.path, tapeio.ErrEndOfData)
		}
		d.pos++
		if d.entries[d.pos-1].fm {
			return fmt.Errorf("%s: space records: %w", d.path, tapeio.ErrFilemark)
		}
	}
	for ; n < 0; n++ {
		if d.pos == 0 {
			return fmt.Errorf("%s: space records: %w", d.path, tapeio.ErrBeginningOfMedium)
		}
		d.pos--
		if d.entries[d.pos].fm {
			return fmt.Errorf("%s: space records: %w", d.path, tapeio.ErrFilemark)
		}
	}
	return nil
}
