package emulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"cairn/tapeio"
)

// DirChanger is a virtual tape library over a directory: slot n is the
// volume file slotNNN.vtape, a blank cartridge until first written. It
// implements tapeio.Changer with one drive.
type DirChanger struct {
	dir   string
	slots int
	opts  Options

	mu     sync.Mutex
	loaded int // slot in the drive, 0 when empty
	drive  *Drive
	closed bool
}

var _ tapeio.Changer = (*DirChanger)(nil)

// NewDirChanger opens (creating if needed) the library in dir with the
// given number of slots; every volume is opened with opts.
func NewDirChanger(dir string, slots int, opts Options) (*DirChanger, error) {
	if slots < 1 || slots > 999 {
		return nil, fmt.Errorf("emulator: changer %s: %d slots, want 1..999", dir, slots)
	}
	if _, _, _, err := opts.resolved(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: changer: %w", err)
	}
	return &DirChanger{dir: dir, slots: slots, opts: opts}, nil
}

// SlotPath returns the volume file of a slot.
func (c *DirChanger) SlotPath(slot int) string {
	return filepath.Join(c.dir, fmt.Sprintf("slot%03d.vtape", slot))
}

// Slots implements tapeio.Changer. Every slot holds a cartridge; its
// barcode is the volume file's base name.
func (c *DirChanger) Slots() ([]tapeio.Slot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("changer %s: %w", c.dir, tapeio.ErrClosed)
	}
	out := make([]tapeio.Slot, c.slots)
	for i := range out {
		out[i] = tapeio.Slot{Number: i + 1, Full: true, Barcode: fmt.Sprintf("slot%03d", i+1)}
	}
	return out, nil
}

// Load implements tapeio.Changer.
func (c *DirChanger) Load(ctx context.Context, slot int) (tapeio.Drive, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, fmt.Errorf("changer %s: %w", c.dir, tapeio.ErrClosed)
	case slot < 1 || slot > c.slots:
		return nil, fmt.Errorf("changer %s: slot %d of %d: %w", c.dir, slot, c.slots, tapeio.ErrNoSuchSlot)
	case c.loaded != 0:
		return nil, fmt.Errorf("changer %s: load slot %d: slot %d is loaded: %w", c.dir, slot, c.loaded, tapeio.ErrDriveFull)
	}
	d, err := Open(c.SlotPath(slot), c.opts)
	if err != nil {
		return nil, fmt.Errorf("changer %s: load slot %d: %w", c.dir, slot, err)
	}
	c.loaded, c.drive = slot, d
	return d, nil
}

// Unload implements tapeio.Changer.
func (c *DirChanger) Unload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unload()
}

func (c *DirChanger) unload() error {
	if c.drive == nil {
		return nil
	}
	err := c.drive.Close()
	slot := c.loaded
	c.loaded, c.drive = 0, nil
	if err != nil {
		return fmt.Errorf("changer %s: unload slot %d: %w", c.dir, slot, err)
	}
	return nil
}

// Loaded implements tapeio.Changer.
func (c *DirChanger) Loaded() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded, c.loaded != 0
}

// Close implements tapeio.Changer.
func (c *DirChanger) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.unload()
	c.closed = true
	return err
}
