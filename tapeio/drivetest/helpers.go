package drivetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"cairn/tapeio"
)

// OpenFunc returns a drive over the test's medium. Within one test it may
// be called again after the previous drive was closed and must then give a
// drive over the same medium (the suite checks what survives a close). The
// suite rewinds and overwrites the medium; it closes the drives it opens.
type OpenFunc func(t *testing.T) tapeio.Drive

// record returns the deterministic content of record i of tape file f.
func record(f, i, size int) []byte {
	b := make([]byte, size)
	x := uint32(f*7919 + i*104729 + size + 1)
	for k := range b {
		x = x*1664525 + 1013904223
		b[k] = byte(x >> 24)
	}
	return b
}

func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

func mustIs(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// writeFiles writes layout[f] = record sizes of tape file f, each file
// followed by one filemark.
func writeFiles(t *testing.T, d tapeio.Drive, layout [][]int) {
	t.Helper()
	for f, sizes := range layout {
		for i, n := range sizes {
			must(t, d.WriteRecord(record(f, i, n)), "write file %d record %d", f, i)
		}
		must(t, d.WriteFilemarks(1), "filemark after file %d", f)
	}
}

// expectRecord reads one record and compares it with record(f, i, size).
func expectRecord(t *testing.T, d tapeio.Drive, buf []byte, f, i, size int) {
	t.Helper()
	n, err := d.ReadRecord(buf)
	must(t, err, "read file %d record %d", f, i)
	if want := record(f, i, size); !bytes.Equal(buf[:n], want) {
		t.Fatalf("file %d record %d: read %d bytes, want %d bytes of its content", f, i, n, size)
	}
}

func expectPosition(t *testing.T, d tapeio.Drive, file, rec int64) {
	t.Helper()
	f, r, err := d.Position()
	must(t, err, "position")
	if f != file || r != rec {
		t.Fatalf("position = file %d record %d, want file %d record %d", f, r, file, rec)
	}
}

func expectRead(t *testing.T, d tapeio.Drive, buf []byte, target error) {
	t.Helper()
	n, err := d.ReadRecord(buf)
	if n != 0 || !errors.Is(err, target) {
		t.Fatalf("read = %d bytes, %v; want 0, %v", n, err, target)
	}
}

// fresh opens the medium, selects variable mode and rewinds.
func fresh(t *testing.T, open OpenFunc) tapeio.Drive {
	t.Helper()
	d := open(t)
	t.Cleanup(func() { d.Close() })
	must(t, d.SetBlockSize(0), "variable block mode")
	must(t, d.Rewind(), "rewind")
	return d
}
