package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// File is a logical file being read from a set. Read follows it across
// volumes, using the context given to the Next call that returned it.
type File struct {
	Kind    Kind
	Name    string
	SetFile uint32

	r    *SetReader
	ctx  context.Context
	frag *Fragment
	off  int64
	err  error
}

// Next returns the next logical file of the set, leaving the rest of the
// previous one unread (and its continuation on later volumes skipped). It
// returns io.EOF at the end of the set, a *BlockError when a file's first
// block is damaged, and an *IncompleteError for a file whose start is on a
// missing volume (only its later part survives). After such errors, call
// Next again for the following file.
func (r *SetReader) Next(ctx context.Context) (*File, error) {
	if f := r.file; f != nil {
		if f.err == nil {
			r.abandoned[f.SetFile] = true
			f.err = errors.New("volume: file read after SetReader.Next")
		}
		r.file = nil
	}
	for {
		frag, err := r.nextFragment(ctx)
		if err != nil {
			return nil, err
		}
		if frag.Flags&FlagContinued != 0 {
			if r.abandoned[frag.SetFile] {
				continue // already reported, or skipped by the caller
			}
			r.seen(frag.SetFile)
			e := &IncompleteError{SetFile: frag.SetFile, Kind: frag.Kind, Name: frag.Name, Offset: frag.DataOffset,
				Err: errors.New("the file's start was not found")}
			if n := len(r.report.MissingVolumes); n > 0 && r.report.MissingVolumes[n-1] == frag.VolumeSeq-1 {
				e.MissingVolume, e.Err = frag.VolumeSeq-1, ErrVolumeMissing
			}
			return nil, r.incomplete(e)
		}
		r.seen(frag.SetFile)
		f := &File{Kind: frag.Kind, Name: frag.Name, SetFile: frag.SetFile, r: r, ctx: ctx, frag: frag}
		r.file = f
		return f, nil
	}
}

// Read implements io.Reader. Errors are sticky: an *IncompleteError (which
// wraps a *BlockError for a damaged block, or names the missing volume)
// ends the file.
func (f *File) Read(p []byte) (int, error) {
	for {
		if f.err != nil {
			return 0, f.err
		}
		n, err := f.frag.Read(p)
		f.off += int64(n)
		if n > 0 || (err == nil && len(p) == 0) {
			return n, nil
		}
		switch {
		case errors.Is(err, io.EOF) && f.frag.Last():
			f.err = io.EOF
			if f.frag.Aborted() {
				f.err = f.fail(0, ErrAborted)
			}
		case errors.Is(err, io.EOF):
			f.err = f.continueOnNextVolume()
		case err != nil:
			f.err = f.fail(0, err)
		}
	}
}

func (f *File) fail(missing uint32, err error) error {
	return f.r.incomplete(&IncompleteError{SetFile: f.SetFile, Kind: f.Kind, Name: f.Name, Offset: f.off, MissingVolume: missing, Err: err})
}

// continueOnNextVolume finds the file's next fragment, which must open the
// next volume's first data file.
func (f *File) continueOnNextVolume() error {
	r := f.r
	// The rest of this volume should be only the end-of-volume trailer.
	if frag, err := r.vol.Next(f.ctx); err == nil {
		r.pushback = frag
		return f.fail(0, fmt.Errorf("%w: the file stops without its last block on volume %d", ErrSequence, r.seq))
	} else if !errors.Is(err, io.EOF) {
		return f.fail(0, err)
	}
	if eos, ok := r.vol.EndOfSet(); ok {
		r.report.EndOfSet = &eos
		r.finish()
		return f.fail(0, fmt.Errorf("%w: the set ends before the file", ErrSequence))
	}
	skipped, err := r.openNext(f.ctx)
	switch {
	case errors.Is(err, errNoMoreVolumes):
		r.finish()
		return f.fail(uint32(r.seq+1), ErrVolumeMissing)
	case len(skipped) > 0:
		return f.fail(skipped[0], ErrVolumeMissing)
	case err != nil:
		return f.fail(0, err)
	}
	frag, err := r.nextFragment(f.ctx)
	switch {
	case errors.Is(err, io.EOF):
		return f.fail(0, fmt.Errorf("%w: volume %d holds no continuation", ErrSequence, r.seq))
	case err != nil:
		return f.fail(0, err)
	}
	if frag.Flags&FlagContinued == 0 || frag.SetFile != f.SetFile || frag.DataOffset != f.off {
		r.pushback = frag
		return f.fail(0, fmt.Errorf("%w: volume %d starts with set file %d at offset %d (flags %#x)",
			ErrSequence, r.seq, frag.SetFile, frag.DataOffset, frag.Flags))
	}
	f.frag = frag
	return nil
}
