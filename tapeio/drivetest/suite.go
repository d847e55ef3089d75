package drivetest

import (
	"bytes"
	"testing"

	"cairn/tapeio"
)

// RunDriveSuite runs the conformance tests that any medium of a few MiB
// supports. Each subtest starts by rewinding and overwriting the medium.
func RunDriveSuite(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(*testing.T, OpenFunc)
	}{
		{"WriteReadBack", testWriteReadBack},
		{"CloseWritesFilemark", testCloseWritesFilemark},
		{"SpaceFiles", testSpaceFiles},
		{"SpaceRecords", testSpaceRecords},
		{"AppendAtEndOfData", testAppend},
		{"OverwriteTruncates", testOverwriteTruncates},
		{"ShortBuffer", testShortBuffer},
		{"InvalidWrites", testInvalidWrites},
		{"DoubleFilemarkEndsData", testDoubleFilemark},
		{"FixedBlockMode", testFixedBlockMode},
		{"LargeRecord", testLargeRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func testWriteReadBack(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	layout := [][]int{{100, 5000, 65536}, {1}, {3000, 3000}}
	writeFiles(t, d, layout)
	must(t, d.Rewind(), "rewind")
	st, err := d.Status()
	must(t, err, "status")
	if !st.BOT || !st.Online || st.WriteProtected {
		t.Fatalf("status after rewind = %v, want ONLINE BOT and writable", st)
	}
	buf := make([]byte, 1<<20)
	for f, sizes := range layout {
		for i, n := range sizes {
			expectPosition(t, d, int64(f), int64(i))
			expectRecord(t, d, buf, f, i, n)
		}
		expectRead(t, d, buf, tapeio.ErrFilemark)
		expectPosition(t, d, int64(f+1), 0)
		if st, err := d.Status(); err != nil || !st.Filemark || st.BOT {
			t.Fatalf("status after filemark = %v, %v; want EOF and not BOT", st, err)
		}
	}
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testCloseWritesFilemark(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	must(t, d.WriteRecord(record(0, 0, 777)), "write")
	must(t, d.Close(), "close after write")
	must(t, d.Close(), "second close")
	d = fresh(t, open)
	buf := make([]byte, 4096)
	expectRecord(t, d, buf, 0, 0, 777)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testSpaceFiles(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	layout := [][]int{{10, 11}, {20, 21}, {30, 31}, {40, 41}}
	writeFiles(t, d, layout)
	buf := make([]byte, 100)
	must(t, d.Rewind(), "rewind")
	must(t, d.SpaceFiles(2), "space forward 2 files")
	expectPosition(t, d, 2, 0)
	expectRecord(t, d, buf, 2, 0, 30)
	// Backward over one filemark: at the end of file 1, before its filemark.
	must(t, d.SpaceFiles(-1), "space back 1 file")
	expectPosition(t, d, 1, 2)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRecord(t, d, buf, 2, 0, 30)
	// The idiom for "start of the current file".
	must(t, d.SpaceFiles(-1), "space back to end of file 1")
	must(t, d.SpaceFiles(1), "space forward to start of file 2")
	expectRecord(t, d, buf, 2, 0, 30)
	must(t, d.SpaceFiles(1), "space to file 3")
	expectRecord(t, d, buf, 3, 0, 40)
	mustIs(t, d.SpaceFiles(2), tapeio.ErrEndOfData, "space past end of data")
	must(t, d.Rewind(), "rewind")
	mustIs(t, d.SpaceFiles(-1), tapeio.ErrBeginningOfMedium, "space back at BOT")
	must(t, d.Rewind(), "rewind")
	expectRecord(t, d, buf, 0, 0, 10)
}

func testSpaceRecords(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	layout := [][]int{{10, 11, 12, 13, 14}, {20}}
	writeFiles(t, d, layout)
	buf := make([]byte, 100)
	must(t, d.Rewind(), "rewind")
	must(t, d.SpaceRecords(2), "space 2 records")
	expectPosition(t, d, 0, 2)
	expectRecord(t, d, buf, 0, 2, 12)
	must(t, d.SpaceRecords(-2), "space back 2 records")
	expectRecord(t, d, buf, 0, 1, 11)
	mustIs(t, d.SpaceRecords(10), tapeio.ErrFilemark, "space records across filemark")
	expectPosition(t, d, 1, 0)
	expectRecord(t, d, buf, 1, 0, 20)
}

func testAppend(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	writeFiles(t, d, [][]int{{100}, {200}})
	must(t, d.Close(), "close")
	d = fresh(t, open)
	must(t, d.SeekEndOfData(), "seek end of data")
	expectPosition(t, d, 2, 0)
	if st, err := d.Status(); err != nil || !st.EOD {
		t.Fatalf("status after seek end of data = %v, %v; want EOD", st, err)
	}
	writeFiles(t, d, [][]int{{300, 301}})
	must(t, d.Rewind(), "rewind")
	buf := make([]byte, 1000)
	expectRecord(t, d, buf, 0, 0, 100)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRecord(t, d, buf, 1, 0, 200)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRecord(t, d, buf, 0, 0, 300)
	expectRecord(t, d, buf, 0, 1, 301)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testOverwriteTruncates(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	writeFiles(t, d, [][]int{{100}, {200, 201}, {300}})
	must(t, d.Rewind(), "rewind")
	must(t, d.SpaceFiles(1), "space to file 1")
	must(t, d.WriteRecord(record(9, 0, 900)), "overwrite file 1")
	must(t, d.WriteFilemarks(1), "filemark")
	must(t, d.SeekEndOfData(), "seek end of data")
	expectPosition(t, d, 2, 0)
	must(t, d.Rewind(), "rewind")
	buf := make([]byte, 1000)
	expectRecord(t, d, buf, 0, 0, 100)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRecord(t, d, buf, 9, 0, 900)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
	// Overwriting in the middle of a file cuts it there.
	must(t, d.Rewind(), "rewind")
	writeFiles(t, d, [][]int{{10, 11, 12}})
	must(t, d.Rewind(), "rewind")
	must(t, d.SpaceRecords(1), "space 1 record")
	must(t, d.WriteRecord(record(8, 0, 80)), "overwrite record 1")
	must(t, d.WriteFilemarks(1), "filemark")
	must(t, d.Rewind(), "rewind")
	expectRecord(t, d, buf, 0, 0, 10)
	expectRecord(t, d, buf, 8, 0, 80)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testShortBuffer(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	writeFiles(t, d, [][]int{{1000, 10}})
	must(t, d.Rewind(), "rewind")
	n, err := d.ReadRecord(make([]byte, 100))
	mustIs(t, err, tapeio.ErrBufferTooSmall, "read 1000-byte record into 100 bytes (%d)", n)
	// The record is consumed, as with st's ENOMEM.
	expectRecord(t, d, make([]byte, 100), 0, 1, 10)
}

func testInvalidWrites(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	mustIs(t, d.WriteRecord(nil), tapeio.ErrInvalidBlockSize, "empty record")
	mustIs(t, d.WriteRecord([]byte{}), tapeio.ErrInvalidBlockSize, "empty record")
}

func testDoubleFilemark(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	must(t, d.WriteRecord(record(0, 0, 50)), "write")
	must(t, d.WriteFilemarks(2), "two filemarks")
	must(t, d.Rewind(), "rewind")
	buf := make([]byte, 100)
	expectRecord(t, d, buf, 0, 0, 50)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testFixedBlockMode(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	const bs = 512
	must(t, d.SetBlockSize(bs), "fixed block mode")
	t.Cleanup(func() { d.SetBlockSize(0) })
	st, err := d.Status()
	must(t, err, "status")
	if st.BlockSize != bs {
		t.Fatalf("status block size = %d, want %d", st.BlockSize, bs)
	}
	first, second := record(0, 0, 3*bs), record(0, 1, bs)
	must(t, d.WriteRecord(first), "write 3 blocks")
	mustIs(t, d.WriteRecord(make([]byte, 100)), tapeio.ErrInvalidBlockSize, "write of 100 bytes in fixed mode")
	must(t, d.WriteRecord(second), "write 1 block")
	must(t, d.WriteFilemarks(1), "filemark")
	must(t, d.Rewind(), "rewind")
	_, err = d.ReadRecord(make([]byte, bs+1))
	mustIs(t, err, tapeio.ErrInvalidBlockSize, "read of %d bytes in fixed mode", bs+1)
	must(t, d.Rewind(), "rewind")
	all := append(append([]byte{}, first...), second...)
	buf := make([]byte, 2*bs)
	for k := 0; k < 2; k++ {
		n, err := d.ReadRecord(buf)
		must(t, err, "read 2 blocks")
		if n != 2*bs || !bytes.Equal(buf[:n], all[k*2*bs:(k+1)*2*bs]) {
			t.Fatalf("fixed read %d: got %d bytes, want blocks %d-%d", k, n, 2*k, 2*k+1)
		}
		expectPosition(t, d, 0, int64(2*k+2))
	}
	expectRead(t, d, buf, tapeio.ErrFilemark)
	// Each block is one record in variable mode.
	must(t, d.SetBlockSize(0), "variable block mode")
	must(t, d.Rewind(), "rewind")
	rb := make([]byte, 4*bs)
	for k := 0; k < 4; k++ {
		n, err := d.ReadRecord(rb)
		must(t, err, "variable read of block %d", k)
		if n != bs || !bytes.Equal(rb[:n], all[k*bs:(k+1)*bs]) {
			t.Fatalf("variable read of block %d: %d bytes, want the %d bytes written", k, n, bs)
		}
	}
}

func testLargeRecord(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	const size = 1 << 20
	writeFiles(t, d, [][]int{{size}})
	must(t, d.Rewind(), "rewind")
	expectRecord(t, d, make([]byte, size), 0, 0, size)
}
