package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"cairn/tapeio"
)

// Drive is a virtual tape drive over one volume file. It implements
// tapeio.Drive. Methods are serialized by a mutex so that a Changer may
// unload it from another goroutine, but a tape has one head: interleaving
// two users' operations makes no sense.
type Drive struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	opts     Options
	capacity int64
	ewPoint  int64
	maxRec   int

	entries []entry
	fms     []int // indexes into entries of the filemarks, ascending
	pos     int   // index of the next entry

	blockSize int
	ewPending bool // a write ended in the early-warning zone: refuse the next
	eot       bool // the physical end refused a write
	lastWrite bool // the last operation wrote a record: Close adds a filemark
	prevFM    bool // the last operation was a read that crossed a filemark
	dirty     bool // written since the last fsync
	closed    bool

	reads, writes int
	scratch       []byte
}

var _ tapeio.Drive = (*Drive)(nil)

// Open opens the volume file at path, creating a blank volume if it does
// not exist (unless opts.ReadOnly), positioned at the beginning of the
// tape. The file is locked for the lifetime of the Drive: a second Open of
// the same volume fails with tapeio.ErrBusy, as a drive has one user.
func Open(path string, opts Options) (*Drive, error) {
	capacity, ewPoint, maxRec, err := opts.resolved()
	if err != nil {
		return nil, err
	}
	flag := os.O_RDWR | os.O_CREATE
	if opts.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		if opts.ReadOnly && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open volume %s: %w", path, tapeio.ErrNoMedium)
		}
		return nil, fmt.Errorf("open volume %s: %w", path, err)
	}
	d := &Drive{path: path, f: f, opts: opts, capacity: capacity, ewPoint: ewPoint, maxRec: maxRec, blockSize: opts.BlockSize}
	if err := d.init(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open volume %s: %w", path, err)
	}
	return d, nil
}

func (d *Drive) init() error {
	if err := unix.Flock(int(d.f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return tapeio.ErrBusy
		}
		return fmt.Errorf("lock: %w", err)
	}
	st, err := d.f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 && !d.opts.ReadOnly {
		// A new blank cartridge: header first, durable before any record.
		if _, err := d.f.WriteAt(fileHeader(), 0); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("sync header: %w", err)
		}
		syncDir(filepath.Dir(d.path))
	}
	if d.entries, err = scanVolume(d.f); err != nil {
		return err
	}
	for i, e := range d.entries {
		if e.fm {
			d.fms = append(d.fms, i)
		}
	}
	return nil
}

// syncDir makes a new file's directory entry durable; best effort, since
// some file systems refuse fsync on directories.
func syncDir(dir string) {
	if df, err := os.Open(dir); err == nil {
		_ = df.Sync()
		df.Close()
	}
}

// Path returns the volume file's path.
func (d *Drive) Path() string { return d.path }

// Used returns the bytes of volume file up to the end of data: the tape
// consumed so far, format overhead included.
func (d *Drive) Used() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.offsetAt(len(d.entries))
}

// offsetAt returns the file offset of entry i, or the end of data for
// i == len(entries).
func (d *Drive) offsetAt(i int) int64 {
	if i < len(d.entries) {
		return d.entries[i].off
	}
	if len(d.entries) == 0 {
		return fileHeaderLen
	}
	return d.entries[len(d.entries)-1].end()
}

// fileAt returns the tape file number at entry index i: the number of
// filemarks before it.
func (d *Drive) fileAt(i int) int { return sort.SearchInts(d.fms, i) }

// position returns the tape file and the record within it at d.pos.
func (d *Drive) position() (file, record int64) {
	k := d.fileAt(d.pos)
	if k == 0 {
		return 0, int64(d.pos)
	}
	return int64(k), int64(d.pos - d.fms[k-1] - 1)
}

// moved resets the state that only lives until the tape is repositioned.
func (d *Drive) moved() {
	d.ewPending, d.eot, d.lastWrite, d.prevFM = false, false, false, false
}

func (d *Drive) check() error {
	if d.closed {
		return fmt.Errorf("%s: %w", d.path, tapeio.ErrClosed)
	}
	return nil
}

// Position implements tapeio.Drive.
func (d *Drive) Position() (file, record int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return -1, -1, err
	}
	file, record = d.position()
	return file, record, nil
}

// Status implements tapeio.Drive.
func (d *Drive) Status() (tapeio.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return tapeio.Status{File: -1, Record: -1}, err
	}
	file, record := d.position()
	return tapeio.Status{
		Online:         true,
		BOT:            d.pos == 0,
		Filemark:       file > 0 && record == 0,
		EOD:            d.pos == len(d.entries),
		EarlyWarning:   d.offsetAt(d.pos) >= d.ewPoint,
		EOT:            d.eot,
		WriteProtected: d.opts.ReadOnly,
		File:           file,
		Record:         record,
		BlockSize:      d.blockSize,
	}, nil
}

// SetBlockSize implements tapeio.Drive.
func (d *Drive) SetBlockSize(n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.check(); err != nil {
		return err
	}
	if n < 0 || n > d.maxRec {
		return fmt.Errorf("%s: set block size %d: %w", d.path, n, tapeio.ErrInvalidBlockSize)
	}
	d.blockSize = n
	return nil
}

// Close implements tapeio.Drive: a filemark is added if the last operation
// wrote a record, the file is synced, unlocked and closed.
func (d *Drive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	var err error
	if d.lastWrite {
		err = d.writeFilemarks(1)
	}
	if d.dirty {
		if serr := d.f.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("%s: sync: %w", d.path, serr)
		}
	}
	if cerr := d.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%s: close: %w", d.path, cerr)
	}
	d.closed = true
	return err
}
