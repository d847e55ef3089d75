package pack

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func scanAll(data []byte) ([]Blob, error) {
	var blobs []Blob
	_, err := Scan(bytes.NewReader(data), func(b Blob) error { blobs = append(blobs, b); return nil })
	return blobs, err
}

// TestScanTrailerLooksLikeHeader covers the one pack in 65536 whose sealed
// trailer begins, by its random nonce, with the blob magic "CB": Scan must
// still end cleanly there, not report a damaged header.
func TestScanTrailerLooksLikeHeader(t *testing.T) {
	master := testKey(20)
	for _, specs := range [][]blobSpec{smallSpecs(), nil} {
		p := buildPack(t, master, specs)
		data := slices.Clone(p.data)
		trailerStart := len(data) - tailSize - (minTrailerSealed + entrySize*len(p.blobs))
		copy(data[trailerStart:], blobMagic)
		got, err := scanAll(data)
		if err != nil || !slices.Equal(got, p.blobs) {
			t.Fatalf("%d blobs: Scan = %d blobs, %v", len(p.blobs), len(got), err)
		}
	}
}

func TestScanDamagedHeader(t *testing.T) {
	master := testKey(21)
	p := buildPack(t, master, smallSpecs())
	victim := 2
	data := slices.Clone(p.data)
	data[p.blobs[victim].Offset+40] ^= 0x10 // raw length field: CRC fails
	got, err := scanAll(data)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "damaged blob header") {
		t.Fatalf("Scan: %v", err)
	}
	if !slices.Equal(got, p.blobs[:victim]) {
		t.Fatalf("Scan reported %d blobs before the damage, want %d", len(got), victim)
	}
}

// TestScanMissingBlob cuts a whole blob out of the middle: every header
// still verifies, but the trailer's length says one blob more.
func TestScanMissingBlob(t *testing.T) {
	master := testKey(22)
	p := buildPack(t, master, smallSpecs())
	b := p.blobs[1]
	data := slices.Concat(p.data[:b.Offset], p.data[b.Offset+b.Length:])
	got, err := scanAll(data)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "does not list") {
		t.Fatalf("Scan: %v", err)
	}
	if len(got) != len(p.blobs)-1 {
		t.Fatalf("Scan reported %d blobs, want %d", len(got), len(p.blobs)-1)
	}
	if _, _, err := List(master, bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrFormat) {
		t.Fatalf("List: %v", err)
	}
}

func TestScanCallbackError(t *testing.T) {
	p := buildPack(t, testKey(23), smallSpecs())
	stop := errors.New("stop")
	calls := 0
	_, err := Scan(bytes.NewReader(p.data), func(Blob) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("Scan = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func TestScanReadError(t *testing.T) {
	p := buildPack(t, testKey(24), smallSpecs())
	boom := errors.New("disk on fire")
	for _, n := range []int{10, HeaderSize + 20, int(p.blobs[1].Offset) + 60, len(p.data) - 3} {
		rd := io.MultiReader(bytes.NewReader(p.data[:n]), iotest.ErrReader(boom))
		_, err := Scan(rd, func(Blob) error { return nil })
		if !errors.Is(err, boom) || errors.Is(err, ErrFormat) {
			t.Fatalf("read error at %d: Scan = %v, want the I/O error, not ErrFormat", n, err)
		}
	}
	// One byte at a time: short reads are not damage.
	got := []Blob{}
	_, err := Scan(iotest.OneByteReader(bytes.NewReader(p.data)), func(b Blob) error { got = append(got, b); return nil })
	if err != nil || !slices.Equal(got, p.blobs) {
		t.Fatalf("one-byte reads: %d blobs, %v", len(got), err)
	}
}

func TestScanGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("CAIRNPK1"), []byte("not a pack at all, but long enough to be read as one"), randomBytes(1, 4096)} {
		if _, err := scanAll(data); !errors.Is(err, ErrFormat) {
			t.Errorf("Scan of %d garbage bytes: %v", len(data), err)
		}
	}
	// A valid pack header followed by garbage.
	data := append([]byte(packMagic), randomBytes(2, 1000)...)
	if _, err := scanAll(data); !errors.Is(err, ErrFormat) {
		t.Errorf("Scan of header and garbage: %v", err)
	}
}

func TestTailKeeper(t *testing.T) {
	var k tailKeeper
	for _, s := range []string{"ab", "", "cdefghij", "k", "lmn"} {
		_, _ = k.Write([]byte(s))
	}
	if string(k.last[:]) != "ghijklmn" || k.n != 14 {
		t.Fatalf("tailKeeper kept %q of %d bytes", k.last, k.n)
	}
}
