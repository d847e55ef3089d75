package tapeio

import "context"

// Slot is one storage slot of a Changer.
type Slot struct {
	// Number is the slot number, counting from 1 like mtx(1).
	Number int
	// Full is true when the slot holds a cartridge (or the cartridge is in
	// the drive).
	Full bool
	// Barcode identifies the cartridge when the changer knows it.
	Barcode string
}

// Changer is a media changer (tape library or autoloader) with one drive.
// A Changer is safe for concurrent use; the Drive it hands out is not.
type Changer interface {
	// Slots lists the storage slots.
	Slots() ([]Slot, error)

	// Load moves the cartridge in slot into the drive and returns the
	// drive, positioned at the beginning of the tape. It fails with
	// ErrDriveFull while another slot is loaded: Unload first. A robot or
	// an operator can take minutes, hence the context.
	Load(ctx context.Context, slot int) (Drive, error)

	// Unload closes the loaded drive (writing a filemark if it was last
	// written, see Drive.Close) and returns the cartridge to its slot. It
	// is a no-op when nothing is loaded.
	Unload() error

	// Loaded reports which slot is in the drive.
	Loaded() (slot int, ok bool)

	// Close unloads and releases the changer.
	Close() error
}
