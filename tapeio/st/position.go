//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"cairn/tapeio"
)

// space issues a positioning operation and turns st's EIO into the
// condition that stopped it, read back from MTIOCGET.
func (d *Drive) space(what string, op int16, count int, forward bool) error {
	if err := d.check(); err != nil {
		return err
	}
	d.moved()
	err := d.op(op, count)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EIO) {
		return d.fail(what, sentinelFor(err), err)
	}
	g, gerr := d.get()
	if gerr != nil {
		return d.fail(what, tapeio.ErrIO, err)
	}
	switch {
	case g.gstat&gmtEOD != 0:
		return d.fail(what, tapeio.ErrEndOfData, err)
	case g.gstat&gmtBOT != 0 && !forward:
		return d.fail(what, tapeio.ErrBeginningOfMedium, err)
	case (op == mtFSR && g.gstat&gmtEOF != 0) || op == mtBSR:
		// A record space stopped by a filemark (backwards st leaves the
		// block number unknown).
		return d.fail(what, tapeio.ErrFilemark, err)
	}
	return d.fail(what, tapeio.ErrIO, err)
}

// SpaceFiles implements tapeio.Drive with MTFSF/MTBSF.
func (d *Drive) SpaceFiles(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case n > 0:
		return d.space(fmt.Sprintf("space forward %d files", n), mtFSF, n, true)
	case n < 0:
		return d.space(fmt.Sprintf("space back %d files", -n), mtBSF, -n, false)
	}
	return d.check()
}

// SpaceRecords implements tapeio.Drive with MTFSR/MTBSR.
func (d *Drive) SpaceRecords(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case n > 0:
		return d.space(fmt.Sprintf("space forward %d records", n), mtFSR, n, true)
	case n < 0:
		return d.space(fmt.Sprintf("space back %d records", -n), mtBSR, -n, false)
	}
	return d.check()
}

// Rewind implements tapeio.Drive with MTREW.
func (d *Drive) Rewind() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.space("rewind", mtREW, 1, false)
}

// SeekEndOfData implements tapeio.Drive with MTEOM.
func (d *Drive) SeekEndOfData() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.space("seek end of data", mtEOM, 1, true)
}

// SetBlockSize implements tapeio.Drive with MTSETBLK.
func (d *Drive) SetBlockSize(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if n < 0 || n > mtSTBlksizeMask {
		return fmt.Errorf("%s: set block size %d: %w", d.name, n, tapeio.ErrInvalidBlockSize)
	}
	if err := d.op(mtSETBLK, n); err != nil {
		return d.fail(fmt.Sprintf("set block size %d", n), sentinelFor(err), err)
	}
	return nil
}

// Position implements tapeio.Drive from MTIOCGET's file and block numbers.
func (d *Drive) Position() (file, record int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return -1, -1, err
	}
	g, err := d.get()
	if err != nil {
		return -1, -1, d.fail("get status", sentinelFor(err), err)
	}
	if g.fileno < 0 || g.blkno < 0 {
		return -1, -1, fmt.Errorf("%s: file %d block %d: %w", d.name, g.fileno, g.blkno, tapeio.ErrPositionUnknown)
	}
	return int64(g.fileno), int64(g.blkno), nil
}

// Status implements tapeio.Drive from MTIOCGET. st clears GMT_EOT once it
// has refused a write, so the driver remembers the refusal until the tape
// moves; two refusals in a row mean the physical end.
func (d *Drive) Status() (tapeio.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return tapeio.Status{File: -1, Record: -1}, err
	}
	g, err := d.get()
	if err != nil {
		return tapeio.Status{File: -1, Record: -1}, d.fail("get status", sentinelFor(err), err)
	}
	return tapeio.Status{
		Online:         g.gstat&gmtOnline != 0,
		BOT:            g.gstat&gmtBOT != 0,
		Filemark:       g.gstat&gmtEOF != 0,
		EOD:            g.gstat&gmtEOD != 0,
		EarlyWarning:   g.gstat&gmtEOT != 0 || d.warned,
		EOT:            d.refused >= 2,
		WriteProtected: g.gstat&gmtWrProt != 0 || d.readOnly,
		File:           int64(g.fileno),
		Record:         int64(g.blkno),
		BlockSize:      g.dsreg & mtSTBlksizeMask,
	}, nil
}

// Close implements tapeio.Drive. The kernel writes a filemark if the last
// operation was a write; the no-rewind device stays where it is.
func (d *Drive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := d.sys.Close(d.fd); err != nil {
		return d.fail("close", sentinelFor(err), err)
	}
	return nil
}
