package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cairn/tapeio"
)

// Content is what a tape holds, as Inspect sees it.
type Content int

const (
	// Blank: no record at all.
	Blank Content = iota
	// LabelOnly: a cairn label and nothing after it, as `tape label`
	// leaves a volume. Export takes it like a blank tape.
	LabelOnly
	// CairnData: a cairn volume with files or trailers after its label.
	CairnData
	// Foreign: records that are not a cairn volume (someone's data).
	Foreign
)

// String names the content for messages.
func (c Content) String() string {
	switch c {
	case Blank:
		return "blank"
	case LabelOnly:
		return "labelled, no data"
	case CairnData:
		return "cairn volume with data"
	case Foreign:
		return "not a cairn volume"
	}
	return fmt.Sprintf("Content(%d)", int(c))
}

// Inspect rewinds d and reports what it holds, with the label if it has
// one. Only drive errors are returned.
func Inspect(ctx context.Context, d tapeio.Drive) (Content, Label, error) {
	v, err := OpenVolume(ctx, d)
	switch {
	case errors.Is(err, tapeio.ErrEndOfData):
		return Blank, Label{}, nil
	case errors.Is(err, ErrNotLabeled):
		return Foreign, Label{}, nil
	case err != nil:
		return 0, Label{}, err
	}
	_, err = v.Next(ctx)
	_, eov := v.EndOfVolume()
	_, eos := v.EndOfSet()
	if errors.Is(err, io.EOF) && !eov && !eos {
		return LabelOnly, v.Label(), nil
	}
	return CairnData, v.Label(), nil
}

// WriteLabel rewinds d and writes l as tape file 0 followed by a
// filemark, discarding whatever the tape held: a labelled volume with no
// data yet. A zero VolumeID, BlockSize, Created or Writer is filled in
// (random id, DefaultBlockSize, now, "cairn"); the label written is
// returned. The caller decides whether the tape may be overwritten
// (Inspect).
func WriteLabel(ctx context.Context, d tapeio.Drive, l Label) (Label, error) {
	if err := ctx.Err(); err != nil {
		return l, err
	}
	if l.VolumeID == (ID{}) {
		l.VolumeID = NewID()
	}
	if l.BlockSize == 0 {
		l.BlockSize = DefaultBlockSize
	}
	if l.Created.IsZero() {
		l.Created = time.Now()
	}
	l.Created = l.Created.UTC()
	if l.Writer == "" {
		l.Writer = "cairn"
	}
	if len(l.Host) > 255 {
		l.Host = l.Host[:255]
	}
	if err := checkBlockSize(l.BlockSize); err != nil {
		return l, err
	}
	if l.Seq == 0 {
		return l, errors.New("volume: label sequence number must be 1 or more")
	}
	if err := d.SetBlockSize(0); err != nil {
		return l, err
	}
	if err := d.Rewind(); err != nil {
		return l, err
	}
	return l, writeLabelFile(d, make([]byte, l.BlockSize), l)
}

// writeLabelFile writes the label block (using block as the buffer) and
// its filemark at the drive's position.
func writeLabelFile(d tapeio.Drive, block []byte, l Label) error {
	clear(block)
	p := l.encode()
	copy(block[HeaderSize:], p)
	seal(block, header{
		kind: KindLabel, flags: FlagFirst | FlagLast, volumeID: l.VolumeID, volumeSeq: l.Seq,
		setFile: noSetFile, payloadLen: uint32(len(p)),
	})
	if err := d.WriteRecord(block); err != nil {
		return fmt.Errorf("write label: %w", err)
	}
	if err := d.WriteFilemarks(1); err != nil {
		return fmt.Errorf("filemark after label: %w", err)
	}
	return nil
}
