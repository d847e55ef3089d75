package volume

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cairn/tapeio"
)

// SetReaderOptions configure a SetReader.
type SetReaderOptions struct {
	// OpenVolume returns a drive with volume seq (1, 2, ...) loaded. It
	// returns an error wrapping ErrVolumeMissing for a volume that is not
	// available, and ErrNoMoreVolumes when there is none with this or a
	// higher number. The SetReader closes each drive when done with it.
	OpenVolume func(ctx context.Context, seq int) (tapeio.Drive, error)
	// SetID, if not zero, is the set expected; otherwise the first volume
	// read decides.
	SetID ID
}

// Report sums up what a SetReader met. Errors also come back from Next and
// File.Read as they happen; the report keeps them for the end.
type Report struct {
	Volumes        []uint32 // read, in order
	MissingVolumes []uint32
	Damaged        []*BlockError
	Incomplete     []*IncompleteError
	// UnseenFiles are set file numbers of which no block was found: files
	// wholly on missing volumes, or whose first block was damaged. At most
	// maxUnseen are listed; UnseenTruncated says more were left out.
	UnseenFiles     []uint32
	UnseenTruncated bool
	// EndOfSet is the set's trailer, nil if it was not reached.
	EndOfSet *EndOfSet
}

// SetReader reads the logical files of a set in order, across volumes.
// It is not safe for concurrent use.
type SetReader struct {
	opts      SetReaderOptions
	setID     ID
	haveSet   bool
	seq       int // sequence number of the open or last tried volume
	drive     tapeio.Drive
	vol       *VolumeReader
	file      *File
	pushback  *Fragment
	abandoned map[uint32]bool
	nextFile  uint32 // lowest set file number not yet seen
	done      bool
	report    Report
}

// NewSetReader returns a reader; no volume is opened until Next.
func NewSetReader(opts SetReaderOptions) (*SetReader, error) {
	if opts.OpenVolume == nil {
		return nil, errors.New("volume: SetReaderOptions.OpenVolume is required")
	}
	return &SetReader{opts: opts, setID: opts.SetID, haveSet: opts.SetID != ID{}, abandoned: map[uint32]bool{}}, nil
}

// Report returns what was met so far.
func (r *SetReader) Report() Report { return r.report }

// Close closes the current drive.
func (r *SetReader) Close() error {
	return r.closeVolume()
}

func (r *SetReader) closeVolume() error {
	r.vol = nil
	if r.drive == nil {
		return nil
	}
	d := r.drive
	r.drive = nil
	if err := d.Close(); err != nil {
		return fmt.Errorf("volume %d: close: %w", r.seq, err)
	}
	return nil
}

// errNoMoreVolumes ends the set inside the reader.
var errNoMoreVolumes = fmt.Errorf("%w", ErrNoMoreVolumes)

// openNext opens the volume after the current one, skipping missing ones,
// which it returns.
func (r *SetReader) openNext(ctx context.Context) (skipped []uint32, err error) {
	if err := r.closeVolume(); err != nil {
		return nil, err
	}
	for {
		seq := r.seq + 1
		d, err := r.opts.OpenVolume(ctx, seq)
		switch {
		case errors.Is(err, ErrNoMoreVolumes):
			return skipped, errNoMoreVolumes
		case errors.Is(err, ErrVolumeMissing):
			r.seq = seq
			skipped = append(skipped, uint32(seq))
			r.report.MissingVolumes = append(r.report.MissingVolumes, uint32(seq))
			continue
		case err != nil:
			return skipped, fmt.Errorf("volume %d: %w", seq, err)
		}
		v, err := OpenVolume(ctx, d)
		if err == nil {
			err = r.checkLabel(v.Label(), seq)
		}
		if err != nil {
			// Leave r.seq alone: the next call asks for this volume again.
			d.Close()
			return skipped, fmt.Errorf("volume %d: %w", seq, err)
		}
		r.seq, r.drive, r.vol = seq, d, v
		r.report.Volumes = append(r.report.Volumes, uint32(seq))
		return skipped, nil
	}
}

func (r *SetReader) checkLabel(l Label, seq int) error {
	if r.haveSet && l.SetID != r.setID {
		return fmt.Errorf("%w: tape is volume %d of set %s, want set %s", ErrWrongVolume, l.Seq, l.SetID, r.setID)
	}
	if int(l.Seq) != seq {
		return fmt.Errorf("%w: tape is volume %d of the set, want %d", ErrWrongVolume, l.Seq, seq)
	}
	r.setID, r.haveSet = l.SetID, true
	return nil
}

// maxUnseen bounds Report.UnseenFiles, so that a file number or a
// trailer count that is wrong yet checksummed cannot exhaust memory.
const maxUnseen = 1 << 20

// seen records that a file number turned up, and the gap before it.
func (r *SetReader) seen(setFile uint32) {
	r.unseenUpTo(setFile)
	if setFile >= r.nextFile {
		r.nextFile = setFile + 1
	}
}

// unseenUpTo lists the file numbers from nextFile up to end (excluded) as
// unseen and moves nextFile there.
func (r *SetReader) unseenUpTo(end uint32) {
	for ; r.nextFile < end; r.nextFile++ {
		if len(r.report.UnseenFiles) >= maxUnseen {
			r.report.UnseenTruncated = true
			r.nextFile = end
			return
		}
		r.report.UnseenFiles = append(r.report.UnseenFiles, r.nextFile)
	}
}

// finish ends the set; files the trailer counts but nobody saw are unseen.
func (r *SetReader) finish() {
	r.done = true
	if eos := r.report.EndOfSet; eos != nil {
		r.unseenUpTo(eos.Files)
	}
}

func (r *SetReader) incomplete(e *IncompleteError) *IncompleteError {
	r.abandoned[e.SetFile] = true
	r.report.Incomplete = append(r.report.Incomplete, e)
	r.damaged(e.Err)
	return e
}

// damaged records a *BlockError in err once.
func (r *SetReader) damaged(err error) {
	var be *BlockError
	if !errors.As(err, &be) {
		return
	}
	for _, d := range r.report.Damaged {
		if d == be {
			return
		}
	}
	r.report.Damaged = append(r.report.Damaged, be)
}

// nextFragment returns the next fragment of the set, moving across
// volumes; io.EOF at the end of the set.
func (r *SetReader) nextFragment(ctx context.Context) (*Fragment, error) {
	if f := r.pushback; f != nil {
		r.pushback = nil
		return f, nil
	}
	for {
		if r.done {
			return nil, io.EOF
		}
		if r.vol == nil {
			if _, err := r.openNext(ctx); err != nil {
				if errors.Is(err, errNoMoreVolumes) {
					r.finish()
					return nil, io.EOF
				}
				return nil, err
			}
		}
		f, err := r.vol.Next(ctx)
		if errors.Is(err, io.EOF) {
			if eos, ok := r.vol.EndOfSet(); ok {
				r.report.EndOfSet = &eos
				r.finish()
				return nil, io.EOF
			}
			if err := r.closeVolume(); err != nil {
				return nil, err
			}
			continue
		}
		r.damaged(err)
		return f, err
	}
}
