package volume

import (
	"context"
	"errors"
	"fmt"

	"cairn/tapeio"
)

// startVolume asks for the next volume, checks what is on it and labels it.
func (w *Writer) startVolume(ctx context.Context) error {
	seq := len(w.sum.Volumes) + 1
	d, err := w.opts.NextVolume(ctx, seq)
	if err != nil {
		return w.fail(fmt.Errorf("volume %d: %w", seq, err))
	}
	if err := w.labelVolume(d, seq); err != nil {
		d.Close()
		return w.fail(fmt.Errorf("volume %d: %w", seq, err))
	}
	w.drive = d
	return nil
}

func (w *Writer) labelVolume(d tapeio.Drive, seq int) error {
	if err := d.SetBlockSize(0); err != nil {
		return err
	}
	if err := d.Rewind(); err != nil {
		return err
	}
	// A labelled tape is someone's data: only the policy may let it go.
	if old, err := readLabel(d); err == nil {
		check := w.opts.CheckVolume
		if check == nil {
			check = w.refuseSameSet
		}
		if err := check(old); err != nil {
			return fmt.Errorf("tape holds volume %d of set %s: %w", old.Seq, old.SetID, err)
		}
	}
	if w.opts.FixedBlockMode {
		if err := d.SetBlockSize(w.bs); err != nil {
			return err
		}
	}
	if err := d.Rewind(); err != nil {
		return err
	}
	v := VolumeInfo{Seq: uint32(seq), ID: NewID()}
	label := Label{
		BlockSize: w.bs, VolumeID: v.ID, SetID: w.sum.SetID, Seq: v.Seq,
		Created: w.opts.Now().UTC(), Host: w.opts.Host, Writer: "cairn",
	}
	if err := writeLabelFile(d, w.block, label); err != nil {
		return err
	}
	v.TapeFiles, v.Blocks = 1, 1
	w.sum.Volumes = append(w.sum.Volumes, v)
	return nil
}

func (w *Writer) refuseSameSet(old Label) error {
	if old.SetID == w.sum.SetID {
		return ErrSameSet
	}
	return nil
}

// changeVolume finishes the full volume, with fs's fragment on it, and
// starts the next one, where fs's file continues.
func (w *Writer) changeVolume(ctx context.Context, fs *fileState) error {
	if v := w.cur(); v.Blocks <= 1 {
		// Nothing but the label fits: every next volume would do the same.
		return w.fail(fmt.Errorf("volume %d: end of medium right after the label: medium too small for %d-byte blocks", v.Seq, w.bs))
	}
	if err := w.endVolume(fs); err != nil {
		return err
	}
	if fs != nil {
		fs.fragBlocks = 0
	}
	return w.startVolume(ctx)
}

// endVolume closes the current fragment with a filemark, writes the
// end-of-volume trailer into the early-warning zone (best effort: the
// blocks before it are what matters) and closes the drive.
func (w *Writer) endVolume(fs *fileState) error {
	v := w.cur()
	if fs != nil && fs.fragBlocks > 0 {
		err := w.drive.WriteFilemarks(1)
		if err != nil && !errors.Is(err, tapeio.ErrEndOfMedium) {
			return w.fail(fmt.Errorf("volume %d: filemark at end of medium: %w", v.Seq, err))
		}
		v.TapeFiles++
	}
	eov := EndOfVolume{NextSeq: v.Seq + 1, SetFile: noSetFile}
	if fs != nil {
		eov.SetFile, eov.DataOffset = fs.info.SetFile, uint64(fs.dataOff)
	}
	if err := w.writeControl(KindEndOfVolume, eov.encode()); err != nil && !errors.Is(err, tapeio.ErrEndOfMedium) {
		return w.fail(err)
	}
	v.Full = true
	d := w.drive
	w.drive = nil
	if err := d.Close(); err != nil {
		return w.fail(fmt.Errorf("volume %d: close: %w", v.Seq, err))
	}
	return nil
}

// writeControl writes a one-block trailer tape file.
func (w *Writer) writeControl(kind Kind, payload []byte) error {
	v := w.cur()
	copy(w.block[HeaderSize:], payload)
	seal(w.block, header{
		kind: kind, flags: FlagFirst | FlagLast, volumeID: v.ID, volumeSeq: v.Seq,
		tapeFile: v.TapeFiles, block: v.Blocks, setFile: noSetFile, payloadLen: uint32(len(payload)),
	})
	if err := w.drive.WriteRecord(w.block); err != nil {
		return fmt.Errorf("volume %d: %v trailer: %w", v.Seq, kind, err)
	}
	v.Blocks++
	if err := w.drive.WriteFilemarks(1); err != nil {
		return fmt.Errorf("volume %d: filemark after %v trailer: %w", v.Seq, kind, err)
	}
	v.TapeFiles++
	return nil
}

// Close ends the set with the end-of-set trailer and closes the drive. The
// summary is valid whether or not Close succeeds.
func (w *Writer) Close(ctx context.Context) (Summary, error) {
	if w.closed {
		return w.sum, errors.New("volume: writer closed twice")
	}
	err := w.usable()
	w.closed = true
	if err == nil {
		err = w.finish(ctx)
	}
	if w.drive != nil {
		if cerr := w.drive.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("volume %d: close: %w", w.cur().Seq, cerr)
		}
		w.drive = nil
	}
	w.sum.TapeBytes = 0
	for _, v := range w.sum.Volumes {
		w.sum.TapeBytes += int64(v.Blocks) * int64(w.bs)
	}
	return w.sum, err
}

func (w *Writer) finish(ctx context.Context) error {
	if w.drive == nil {
		if err := w.startVolume(ctx); err != nil {
			return err
		}
	}
	eos := func() []byte {
		return EndOfSet{Files: w.sum.Files, Volumes: uint32(len(w.sum.Volumes)), DataBytes: uint64(w.sum.DataBytes)}.encode()
	}
	err := w.writeControl(KindEndOfSet, eos())
	if errors.Is(err, tapeio.ErrEndOfMedium) {
		if err := w.changeVolume(ctx, nil); err != nil {
			return err
		}
		err = w.writeControl(KindEndOfSet, eos())
	}
	return err
}
