package export

import (
	"context"
	"fmt"

	"cairn/tapeio"
	"cairn/tapeio/volume"
)

// Chooser picks the cartridges an export writes on, in media order. A
// blank cartridge, or one that `tape label` labelled and nothing wrote on
// since, is always taken; a cairn volume of a set the local
// catalog keeps (or of the set being written) never is, since incremental
// sets depend on it; any other cairn volume only with Recycle. A tape that
// is neither blank nor cairn's is someone else's data and is skipped.
type Chooser struct {
	Media Media
	// Keep reports whether a set's volumes must be kept.
	Keep func(set volume.ID) bool
	// Recycle allows overwriting cairn volumes of sets not kept.
	Recycle bool
	// Skipped is called for every cartridge passed over, with the reason.
	Skipped func(name, reason string)

	next  int
	names map[int]string
}

// NextVolume implements volume.WriterOptions.NextVolume.
func (c *Chooser) NextVolume(ctx context.Context, seq int) (tapeio.Drive, error) {
	if c.names == nil {
		c.names = map[int]string{}
	}
	for ; c.next < c.Media.Count(); c.next++ {
		name := c.Media.Name(c.next)
		d, err := c.Media.Open(ctx, c.next)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		reason, err := c.check(ctx, d)
		if err != nil {
			c.Media.Release()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if reason == "" {
			c.names[seq] = name
			c.next++
			return d, nil
		}
		if err := c.Media.Release(); err != nil {
			return nil, err
		}
		if c.Skipped != nil {
			c.Skipped(name, reason)
		}
	}
	return nil, fmt.Errorf("no usable cartridge left for volume %d (%d offered)", seq, c.Media.Count())
}

// Name returns the medium volume seq was written on.
func (c *Chooser) Name(seq int) string { return c.names[seq] }

// check returns why d must not be written, or "".
func (c *Chooser) check(ctx context.Context, d tapeio.Drive) (string, error) {
	content, l, err := volume.Inspect(ctx, d)
	switch {
	case err != nil:
		return "", err
	case content == volume.Blank, content == volume.LabelOnly:
		return "", nil // blank, or labelled by `tape label` and still empty
	case content == volume.Foreign:
		return "not blank and not a cairn volume", nil
	}
	if c.Keep != nil && c.Keep(l.SetID) {
		return fmt.Sprintf("volume %d of set %s, which is kept", l.Seq, l.SetID), nil
	}
	if !c.Recycle {
		return fmt.Sprintf("volume %d of set %s (use recycle to overwrite)", l.Seq, l.SetID), nil
	}
	return "", nil
}
