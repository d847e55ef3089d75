package drivetest

import (
	"errors"
	"testing"

	"cairn/tapeio"
)

// maxEOMRecords bounds the write loop so that a driver that never reports
// the end of medium fails the test instead of hanging it.
const maxEOMRecords = 1 << 16

// RunEndOfMediumSuite checks the early-warning protocol by filling the
// medium. open must give a medium small enough to fill in a test (a few
// MiB) with an early-warning zone of at least 4 records of 64 KiB. On a
// real drive this writes the whole tape: run it deliberately.
func RunEndOfMediumSuite(t *testing.T, open OpenFunc) {
	t.Run("EarlyWarning", func(t *testing.T) { testEarlyWarning(t, open) })
	t.Run("PhysicalEnd", func(t *testing.T) { testPhysicalEnd(t, open) })
}

const eomRecord = 64 << 10

// fill writes records until the first refusal and returns how many were
// written and whether the early warning showed before the refusal.
func fill(t *testing.T, d tapeio.Drive) (written int, warned bool) {
	t.Helper()
	for written < maxEOMRecords {
		err := d.WriteRecord(record(0, written, eomRecord))
		if errors.Is(err, tapeio.ErrEndOfMedium) {
			return written, warned
		}
		must(t, err, "write record %d", written)
		written++
		st, err := d.Status()
		must(t, err, "status")
		warned = warned || st.EarlyWarning
	}
	t.Fatalf("no end of medium after %d records", written)
	return 0, false
}

func testEarlyWarning(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	written, warned := fill(t, d)
	if written == 0 {
		t.Fatal("first write refused: medium too small for the test")
	}
	if !warned {
		t.Fatal("end of medium without early warning in Status after the last accepted write")
	}
	st, err := d.Status()
	must(t, err, "status")
	if !st.EarlyWarning || st.EOT {
		t.Fatalf("status after refusal = %v, want EW and not EOT", st)
	}
	// The refused record was not written; a filemark and a trailer still fit.
	must(t, d.WriteFilemarks(1), "filemark in early-warning zone")
	must(t, d.WriteRecord(record(1, 0, eomRecord)), "trailer record after refusal")
	must(t, d.WriteFilemarks(1), "filemark after trailer")
	must(t, d.Rewind(), "rewind")
	buf := make([]byte, eomRecord)
	for i := 0; i < written; i++ {
		expectRecord(t, d, buf, 0, i, eomRecord)
	}
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRecord(t, d, buf, 1, 0, eomRecord)
	expectRead(t, d, buf, tapeio.ErrFilemark)
	expectRead(t, d, buf, tapeio.ErrEndOfData)
}

func testPhysicalEnd(t *testing.T, open OpenFunc) {
	d := fresh(t, open)
	total, _ := fill(t, d)
	// Past the first refusal writes alternate between accepted and refused
	// until the medium is physically full: then every write is refused.
	refusedInRow := 1
	for i := 0; refusedInRow < 2; i++ {
		if i > maxEOMRecords {
			t.Fatal("no physical end of medium")
		}
		err := d.WriteRecord(record(0, total, eomRecord))
		switch {
		case errors.Is(err, tapeio.ErrEndOfMedium):
			refusedInRow++
		case err == nil:
			refusedInRow = 0
			total++
		default:
			t.Fatalf("write %d past early warning: %v", total, err)
		}
	}
	st, err := d.Status()
	must(t, err, "status")
	if !st.EOT {
		t.Fatalf("status at physical end = %v, want EOT", st)
	}
	must(t, d.Rewind(), "rewind")
	buf := make([]byte, eomRecord)
	for i := 0; i < total; i++ {
		expectRecord(t, d, buf, 0, i, eomRecord)
	}
	// No filemark was written: the data simply ends.
	n, err := d.ReadRecord(buf)
	if n != 0 || err == nil {
		t.Fatalf("read past the last record = %d, %v; want an error", n, err)
	}
}
