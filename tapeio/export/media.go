package export

import (
	"context"
	"errors"
	"fmt"

	"cairn/tapeio"
)

// Media hands out the cartridges of one job, by index from 0: the slots of
// a changer, or one drive URL per volume. Only one volume is in use at a
// time; Open releases the previous one first.
type Media interface {
	// Count is the number of volumes that can be offered.
	Count() int
	// Name names volume i for messages ("slot003", a URL).
	Name(i int) string
	// Open makes volume i available and returns its drive, at BOT.
	Open(ctx context.Context, i int) (tapeio.Drive, error)
	// Release ends the use of the open volume (closing or unloading it).
	Release() error
	// Close releases everything.
	Close() error
}

// ChangerMedia offers the slots of a changer in slot order.
type ChangerMedia struct {
	changer tapeio.Changer
	slots   []tapeio.Slot
}

var _ Media = (*ChangerMedia)(nil)

// NewChangerMedia lists the changer's full slots. The ChangerMedia owns c.
func NewChangerMedia(c tapeio.Changer) (*ChangerMedia, error) {
	all, err := c.Slots()
	if err != nil {
		return nil, err
	}
	m := &ChangerMedia{changer: c}
	for _, s := range all {
		if s.Full {
			m.slots = append(m.slots, s)
		}
	}
	return m, nil
}

// Count implements Media.
func (m *ChangerMedia) Count() int { return len(m.slots) }

// Name implements Media: the barcode, or the slot number.
func (m *ChangerMedia) Name(i int) string {
	if s := m.slots[i]; s.Barcode != "" {
		return s.Barcode
	}
	return fmt.Sprintf("slot %d", m.slots[i].Number)
}

// Open implements Media.
func (m *ChangerMedia) Open(ctx context.Context, i int) (tapeio.Drive, error) {
	if err := m.changer.Unload(); err != nil {
		return nil, err
	}
	return m.changer.Load(ctx, m.slots[i].Number)
}

// Release implements Media.
func (m *ChangerMedia) Release() error { return m.changer.Unload() }

// Close implements Media.
func (m *ChangerMedia) Close() error { return m.changer.Close() }

// DriveMedia offers one drive per volume, each opened by URL: emulator
// volume files, or the same st device named again after the operator
// changed the cartridge (Prompt).
type DriveMedia struct {
	urls []string
	open func(url string) (tapeio.Drive, error)
	cur  tapeio.Drive
	// Prompt, if set, is called before opening a volume past the list: it
	// asks the operator to load the next cartridge into the last drive and
	// returns nil once done. Without it the list is all there is.
	Prompt func(ctx context.Context, name string, i int) error
}

var _ Media = (*DriveMedia)(nil)

// NewDriveMedia offers the drives named by urls, opened with open (such as
// tapeio/open.Drive).
func NewDriveMedia(urls []string, open func(string) (tapeio.Drive, error)) *DriveMedia {
	return &DriveMedia{urls: urls, open: open}
}

// Count implements Media. With a Prompt there is always one more.
func (m *DriveMedia) Count() int {
	if m.Prompt != nil {
		return 1 << 20
	}
	return len(m.urls)
}

func (m *DriveMedia) url(i int) string {
	if i < len(m.urls) {
		return m.urls[i]
	}
	return m.urls[len(m.urls)-1]
}

// Name implements Media.
func (m *DriveMedia) Name(i int) string { return m.url(i) }

// Open implements Media.
func (m *DriveMedia) Open(ctx context.Context, i int) (tapeio.Drive, error) {
	if err := m.Release(); err != nil {
		return nil, err
	}
	if len(m.urls) == 0 {
		return nil, errors.New("export: no drive given")
	}
	if i >= len(m.urls) {
		if m.Prompt == nil {
			return nil, fmt.Errorf("volume %d needed but only %d drives given", i+1, len(m.urls))
		}
		if err := m.Prompt(ctx, m.url(i), i); err != nil {
			return nil, err
		}
	}
	d, err := m.open(m.url(i))
	if err != nil {
		return nil, err
	}
	m.cur = d
	return d, nil
}

// Release implements Media. Closing twice is harmless (Drive.Close is
// idempotent), so volume writers may close the drive themselves.
func (m *DriveMedia) Release() error {
	if m.cur == nil {
		return nil
	}
	d := m.cur
	m.cur = nil
	return d.Close()
}

// Close implements Media.
func (m *DriveMedia) Close() error { return m.Release() }
