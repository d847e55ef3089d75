package volume

import (
	"errors"
	"fmt"
	"io"
)

// Fragment is the part of a logical file in one tape file of one volume.
// Read returns its data; io.EOF at its end. Whether the file ends here or
// continues on the next volume is Last once io.EOF was returned.
type Fragment struct {
	Kind    Kind
	Name    string
	SetFile uint32
	// Flags of the fragment's first block: FlagFirst if the file starts
	// here, FlagContinued if it started on an earlier volume.
	Flags      Flags
	DataOffset int64 // offset of the fragment's data in the file
	VolumeSeq  uint32
	TapeFile   uint32
	FirstBlock uint64

	v         *VolumeReader
	data      []byte // unread data of the current block
	next      int64  // data offset the next block must have
	last      bool
	aborted   bool
	abandoned bool
	err       error
}

// Last reports whether the file's final block was read: the file ends in
// this fragment.
func (f *Fragment) Last() bool { return f.last || f.Flags&FlagLast != 0 }

// Aborted reports whether the writer marked the file aborted.
func (f *Fragment) Aborted() bool { return f.aborted || f.Flags&FlagAborted != 0 }

// Read implements io.Reader. A damaged block is a *BlockError, after which
// the fragment stays failed.
func (f *Fragment) Read(p []byte) (int, error) {
	for len(f.data) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.Last() {
			return 0, io.EOF
		}
		if f.abandoned {
			f.err = errors.New("volume: fragment read after VolumeReader.Next")
			return 0, f.err
		}
		if err := f.nextBlock(); err != nil {
			f.err = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// nextBlock loads the fragment's next block, checking that it follows.
func (f *Fragment) nextBlock() error {
	v := f.v
	h, payload, block, fm, eod, err := v.readBlock()
	switch {
	case fm || eod:
		// The fragment ends without the file's last block: it continues
		// on the next volume (or the volume was cut short).
		f.err = io.EOF
		return io.EOF
	case err != nil:
		return err
	}
	if h.kind != f.Kind || h.setFile != f.SetFile || h.startsFragment() || int64(h.dataOffset) != f.next {
		return v.blockErr(block, fmt.Errorf("%w: block of %v set file %d at offset %d (flags %#x), want %v set file %d at offset %d",
			ErrSequence, h.kind, h.setFile, h.dataOffset, h.flags, f.Kind, f.SetFile, f.next))
	}
	f.data = payload
	f.next += int64(len(payload))
	f.last = h.flags&FlagLast != 0
	f.aborted = h.flags&FlagAborted != 0
	return nil
}
