//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"cairn/tapeio"
)

// scriptSys is a mock kernel (no SCSI tape can run here) that replays
// scripted results, for conditions the emulator-backed mock cannot produce.
type scriptSys struct {
	reads  []result
	writes []result
	gstat  int
	fileno int32
	blkno  int32
	dsreg  int
	opErr  error
	ops    []mtop
}

type result struct {
	n   int
	err error
}

func (s *scriptSys) Read(fd int, p []byte) (int, error) {
	r := s.reads[0]
	s.reads = s.reads[1:]
	return r.n, r.err
}

func (s *scriptSys) Write(fd int, p []byte) (int, error) {
	r := s.writes[0]
	s.writes = s.writes[1:]
	return r.n, r.err
}

func (s *scriptSys) Close(fd int) error { return nil }

func (s *scriptSys) Ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	switch req {
	case mtiocTop:
		s.ops = append(s.ops, *(*mtop)(arg))
		return s.opErr
	case mtiocGet:
		*(*mtget)(arg) = mtget{gstat: s.gstat, fileno: s.fileno, blkno: s.blkno, dsreg: s.dsreg}
		return nil
	}
	return unix.ENOTTY
}

func TestReadZeroBytes(t *testing.T) {
	buf := make([]byte, 10)
	// Two empty reads without GMT_EOD: a filemark, then the conventional
	// double-filemark end of data.
	s := &scriptSys{reads: []result{{0, nil}, {0, nil}, {0, unix.EIO}}}
	d := newDrive("mock", 3, s, false)
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrFilemark) {
		t.Fatalf("first empty read: %v, want ErrFilemark", err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrEndOfData) {
		t.Fatalf("second empty read: %v, want ErrEndOfData", err)
	}
	// st's third read fails with EIO: still the end of data.
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrEndOfData) || !errors.Is(err, unix.EIO) {
		t.Fatalf("read after end of data: %v, want ErrEndOfData wrapping EIO", err)
	}
	// One empty read with GMT_EOD is the end of data at once.
	s = &scriptSys{reads: []result{{0, nil}}, gstat: gmtEOD}
	if _, err := newDrive("mock", 3, s, false).ReadRecord(buf); !errors.Is(err, tapeio.ErrEndOfData) {
		t.Fatalf("empty read with GMT_EOD: %v, want ErrEndOfData", err)
	}
	// A record between two empty reads resets the count.
	s = &scriptSys{reads: []result{{0, nil}, {5, nil}, {0, nil}}}
	d = newDrive("mock", 3, s, false)
	d.ReadRecord(buf)
	d.ReadRecord(buf)
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrFilemark) {
		t.Fatalf("empty read after a record: %v, want ErrFilemark", err)
	}
}

func TestErrnoMapping(t *testing.T) {
	buf := make([]byte, 10)
	s := &scriptSys{reads: []result{{0, unix.ENOMEM}, {0, unix.EIO}}, writes: []result{{0, unix.ENOSPC}, {0, unix.EACCES}, {4, nil}, {0, unix.EIO}, {0, unix.ENOSPC}}}
	d := newDrive("mock", 3, s, false)
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrBufferTooSmall) {
		t.Fatalf("ENOMEM read: %v", err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrIO) {
		t.Fatalf("EIO read: %v", err)
	}
	if err := d.WriteRecord(buf); !errors.Is(err, tapeio.ErrEndOfMedium) || !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("ENOSPC write: %v, want ErrEndOfMedium wrapping ENOSPC", err)
	}
	if st, _ := d.Status(); !st.EarlyWarning || st.EOT {
		t.Fatalf("status after one refusal: %v, want EW and not EOT", st)
	}
	if err := d.WriteRecord(buf); !errors.Is(err, tapeio.ErrWriteProtected) {
		t.Fatalf("EACCES write: %v", err)
	}
	if err := d.WriteRecord(buf); !errors.Is(err, tapeio.ErrEndOfMedium) {
		t.Fatalf("short write: %v, want ErrEndOfMedium", err)
	}
	s.gstat = gmtEOT
	if err := d.WriteRecord(buf); !errors.Is(err, tapeio.ErrEndOfMedium) {
		t.Fatalf("EIO write with GMT_EOT: %v, want ErrEndOfMedium", err)
	}
	d.WriteRecord(buf)
	if st, _ := d.Status(); !st.EOT {
		t.Fatalf("status after two refusals in a row: %v, want EOT", st)
	}
}

func TestSpaceRequests(t *testing.T) {
	s := &scriptSys{}
	d := newDrive("mock", 3, s, false)
	d.SpaceFiles(-3)
	d.SpaceFiles(2)
	d.SpaceRecords(-1)
	d.SpaceRecords(7)
	d.WriteFilemarks(2)
	d.Rewind()
	d.SeekEndOfData()
	d.SetBlockSize(262144)
	want := []mtop{{op: mtBSF, count: 3}, {op: mtFSF, count: 2}, {op: mtBSR, count: 1}, {op: mtFSR, count: 7},
		{op: mtWEOF, count: 2}, {op: mtREW, count: 1}, {op: mtEOM, count: 1}, {op: mtSETBLK, count: 262144}}
	if len(s.ops) != len(want) {
		t.Fatalf("ops = %v, want %v", s.ops, want)
	}
	for i := range want {
		if s.ops[i].op != want[i].op || s.ops[i].count != want[i].count {
			t.Fatalf("op %d = %+v, want %+v", i, s.ops[i], want[i])
		}
	}
	// A space stopped by st's EIO is classified from MTIOCGET.
	for _, tc := range []struct {
		gstat int
		fn    func() error
		want  error
	}{
		{gmtEOD, func() error { return d.SpaceFiles(5) }, tapeio.ErrEndOfData},
		{gmtBOT, func() error { return d.SpaceFiles(-5) }, tapeio.ErrBeginningOfMedium},
		{gmtEOF, func() error { return d.SpaceRecords(5) }, tapeio.ErrFilemark},
		{0, func() error { return d.SpaceFiles(1) }, tapeio.ErrIO},
	} {
		s.gstat, s.opErr = tc.gstat, unix.EIO
		if err := tc.fn(); !errors.Is(err, tc.want) {
			t.Errorf("gstat %#x: %v, want %v", tc.gstat, err, tc.want)
		}
	}
}

func TestStatusDecoding(t *testing.T) {
	s := &scriptSys{gstat: gmtOnline | gmtWrProt | gmtEOF, fileno: 3, blkno: 0, dsreg: 0x13<<24 | 65536}
	d := newDrive("mock", 3, s, false)
	st, err := d.Status()
	if err != nil {
		t.Fatal(err)
	}
	want := tapeio.Status{Online: true, WriteProtected: true, Filemark: true, File: 3, Record: 0, BlockSize: 65536}
	if st != want {
		t.Fatalf("status = %+v, want %+v", st, want)
	}
	s.fileno, s.blkno = -1, -1
	if _, _, err := d.Position(); !errors.Is(err, tapeio.ErrPositionUnknown) {
		t.Fatalf("position with fileno -1: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Rewind(); !errors.Is(err, tapeio.ErrClosed) {
		t.Fatalf("rewind after close: %v", err)
	}
}
