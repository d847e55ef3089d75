package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cairn/tapeio"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// NextVolume returns the drive to write volume seq (1, 2, ...) on. It
	// is called for the first volume by NewWriter, then whenever a volume
	// is full. The Writer rewinds and labels the drive, and closes it when
	// done with it, before asking for the next.
	NextVolume func(ctx context.Context, seq int) (tapeio.Drive, error)
	// SetID names the set; zero means a random one.
	SetID ID
	// BlockSize is the size of every block; 0 means DefaultBlockSize.
	BlockSize int
	// FixedBlockMode puts the drive in fixed-block mode with BlockSize
	// blocks; by default it is in variable mode with one block per record,
	// which is the same on tape and readable either way.
	FixedBlockMode bool
	// CheckVolume decides whether a tape that already carries a cairn
	// label may be overwritten; nil refuses only volumes of this set.
	CheckVolume func(existing Label) error
	// Host is recorded in each label.
	Host string
	// Now is the clock for label times; nil means time.Now.
	Now func() time.Time
}

// Extent is where one fragment of a logical file lies: a tape file on a
// volume. A catalog can position straight to it with SpaceFiles.
type Extent struct {
	VolumeSeq  uint32
	TapeFile   uint32
	FirstBlock uint64
	Blocks     uint64
	DataOffset int64
	Length     int64
}

// FileInfo describes a logical file as written.
type FileInfo struct {
	SetFile uint32
	Kind    Kind
	Name    string
	Size    int64
	Extents []Extent
	Aborted bool
}

// VolumeInfo describes one written volume.
type VolumeInfo struct {
	Seq       uint32
	ID        ID
	TapeFiles uint32 // label and trailers included
	Blocks    uint64 // label and trailer blocks included
	Full      bool   // closed at the end of medium
}

// Summary describes a written set.
type Summary struct {
	SetID     ID
	BlockSize int
	Volumes   []VolumeInfo
	Files     uint32
	DataBytes int64
	// TapeBytes is what the blocks occupy: blocks × block size.
	TapeBytes int64
}

// Writer writes a set of logical files as tape files on one or more
// volumes. It is not safe for concurrent use.
type Writer struct {
	opts    WriterOptions
	bs      int
	drive   tapeio.Drive // nil between volumes
	block   []byte
	pending []byte
	sum     Summary
	err     error
	closed  bool
}

// NewWriter starts a set: it asks for volume 1 and labels it.
func NewWriter(ctx context.Context, opts WriterOptions) (*Writer, error) {
	if opts.NextVolume == nil {
		return nil, errors.New("volume: WriterOptions.NextVolume is required")
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = DefaultBlockSize
	}
	if err := checkBlockSize(opts.BlockSize); err != nil {
		return nil, err
	}
	if opts.SetID == (ID{}) {
		opts.SetID = NewID()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Host) > 255 {
		opts.Host = opts.Host[:255]
	}
	w := &Writer{
		opts:    opts,
		bs:      opts.BlockSize,
		block:   make([]byte, opts.BlockSize),
		pending: make([]byte, 0, opts.BlockSize),
		sum:     Summary{SetID: opts.SetID, BlockSize: opts.BlockSize},
	}
	if err := w.startVolume(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// SetID returns the set's id.
func (w *Writer) SetID() ID { return w.sum.SetID }

func (w *Writer) usable() error {
	switch {
	case w.closed:
		return errors.New("volume: writer closed")
	case w.err != nil:
		return fmt.Errorf("%w: %w", ErrWriterFailed, w.err)
	}
	return nil
}

// fail makes err sticky: the drive is in an unknown state.
func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

func (w *Writer) cur() *VolumeInfo { return &w.sum.Volumes[len(w.sum.Volumes)-1] }

// fileState follows one logical file through WriteFile.
type fileState struct {
	info       *FileInfo
	dataOff    int64
	fragBlocks uint64 // blocks of the fragment on the current volume
}

// WriteFile writes the logical file read from r as the next tape file,
// continuing it on the next volume at the end of medium. If r fails or ctx
// is cancelled the file is closed with an aborted last block, the error is
// returned wrapping ErrAborted, and the Writer stays usable. Drive errors
// other than the end of medium are returned as they are and leave the
// Writer failed.
func (w *Writer) WriteFile(ctx context.Context, kind Kind, name string, r io.Reader) (FileInfo, error) {
	info := FileInfo{Kind: kind, Name: name}
	if err := w.usable(); err != nil {
		return info, err
	}
	if !kind.isData() {
		return info, fmt.Errorf("volume: write file %q: kind %v is reserved for the format", name, kind)
	}
	if len(name) > MaxNameLen {
		return info, fmt.Errorf("volume: write file: name of %d bytes, max %d", len(name), MaxNameLen)
	}
	if w.drive == nil {
		if err := w.startVolume(ctx); err != nil {
			return info, err
		}
	}
	info.SetFile = w.sum.Files
	w.sum.Files++
	fs := &fileState{info: &info}
	srcErr, err := w.copyBlocks(ctx, fs, r)
	if err != nil {
		return info, err
	}
	info.Size = fs.dataOff
	w.sum.DataBytes += fs.dataOff
	if err := w.endFragment(ctx); err != nil {
		return info, err
	}
	if srcErr != nil {
		info.Aborted = true
		return info, fmt.Errorf("volume: set file %d %q: %w: %w", info.SetFile, name, ErrAborted, srcErr)
	}
	return info, nil
}

// copyBlocks cuts r into blocks. srcErr is r's (or ctx's) failure, after
// which the file was closed as aborted; err is a drive failure.
func (w *Writer) copyBlocks(ctx context.Context, fs *fileState, r io.Reader) (srcErr, err error) {
	pending := w.pending[:0]
	eof, zeroReads := false, 0
	for {
		room := w.bs - HeaderSize
		if fs.fragBlocks == 0 {
			room -= descriptorLen(fs.info.Name)
		}
		if srcErr == nil && !eof {
			srcErr = ctx.Err()
		}
		// Read one byte more than fits, to know whether this block is last.
		for srcErr == nil && !eof && len(pending) <= room {
			n, rerr := r.Read(pending[len(pending):cap(pending)])
			pending = pending[:len(pending)+n]
			switch {
			case rerr == io.EOF:
				eof = true
			case rerr != nil:
				srcErr = rerr
			case n == 0:
				if zeroReads++; zeroReads > 100 {
					srcErr = io.ErrNoProgress
				}
			}
		}
		take := min(len(pending), room)
		aborted := srcErr != nil
		last := aborted || (eof && len(pending) <= room)
		written, err := w.writeBlock(ctx, fs, pending[:take], last, aborted)
		if err != nil {
			return srcErr, err
		}
		if !written {
			continue // new volume: the room changed, cut again
		}
		pending = pending[:copy(pending, pending[take:])]
		if last {
			return srcErr, nil
		}
	}
}

// writeBlock writes one block of fs's file. written is false when the end
// of medium refused it and the Writer moved to the next volume.
func (w *Writer) writeBlock(ctx context.Context, fs *fileState, data []byte, last, aborted bool) (written bool, err error) {
	v := w.cur()
	var flags Flags
	if fs.fragBlocks == 0 {
		flags = FlagFirst
		if len(fs.info.Extents) > 0 {
			flags = FlagContinued
		}
	}
	if last {
		flags |= FlagLast
	}
	if aborted {
		flags |= FlagAborted
	}
	n := 0
	if fs.fragBlocks == 0 {
		n = putDescriptor(w.block[HeaderSize:], fs.info.Name)
	}
	n += copy(w.block[HeaderSize+n:], data)
	seal(w.block, header{
		kind: fs.info.Kind, flags: flags, volumeID: v.ID, volumeSeq: v.Seq,
		tapeFile: v.TapeFiles, block: v.Blocks, setFile: fs.info.SetFile,
		payloadLen: uint32(n), dataOffset: uint64(fs.dataOff),
	})
	err = w.drive.WriteRecord(w.block)
	if errors.Is(err, tapeio.ErrEndOfMedium) {
		return false, w.changeVolume(ctx, fs)
	}
	if err != nil {
		return false, w.fail(fmt.Errorf("volume %d block %d: %w", v.Seq, v.Blocks, err))
	}
	if fs.fragBlocks == 0 {
		fs.info.Extents = append(fs.info.Extents, Extent{VolumeSeq: v.Seq, TapeFile: v.TapeFiles, FirstBlock: v.Blocks, DataOffset: fs.dataOff})
	}
	ext := &fs.info.Extents[len(fs.info.Extents)-1]
	ext.Blocks++
	ext.Length += int64(len(data))
	v.Blocks++
	fs.fragBlocks++
	fs.dataOff += int64(len(data))
	return true, nil
}

// endFragment writes the filemark after a file's last block. If the
// physical end refuses even that, the volume is finished and the next
// file starts a new one.
func (w *Writer) endFragment(ctx context.Context) error {
	err := w.drive.WriteFilemarks(1)
	if errors.Is(err, tapeio.ErrEndOfMedium) {
		return w.endVolume(nil)
	}
	if err != nil {
		return w.fail(fmt.Errorf("volume %d: filemark: %w", w.cur().Seq, err))
	}
	w.cur().TapeFiles++
	return nil
}
