package emulator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"cairn/tapeio"
)

func openT(t *testing.T, path string, opts Options) *Drive {
	t.Helper()
	d, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// readAll reads records until the end of data and returns them with nil
// entries for filemarks.
func readAll(t *testing.T, d tapeio.Drive) [][]byte {
	t.Helper()
	if err := d.Rewind(); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	buf := make([]byte, 1<<20)
	for {
		n, err := d.ReadRecord(buf)
		switch {
		case errors.Is(err, tapeio.ErrFilemark):
			out = append(out, nil)
		case errors.Is(err, tapeio.ErrEndOfData):
			return out
		case err != nil:
			t.Fatalf("read: %v", err)
		default:
			out = append(out, append([]byte(nil), buf[:n]...))
		}
	}
}

func TestFormatOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v")
	d := openT(t, path, Options{})
	if err := d.WriteRecord(fill(100, 'a')); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFilemarks(1); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := append(fileHeader(), appendEntry(nil, typeRecord, fill(100, 'a'))...)
	want = appendEntry(want, typeFilemark, nil)
	if !bytes.Equal(raw, want) {
		t.Fatalf("volume file is %d bytes %q..., want %d bytes", len(raw), raw[:min(len(raw), 32)], len(want))
	}
	if len(raw) != 16+9+100+9 {
		t.Fatalf("volume file size %d, want %d", len(raw), 16+9+100+9)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v")
	d := openT(t, path, Options{})
	for i := 0; i < 3; i++ {
		if err := d.WriteRecord(fill(1000+i, byte('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// No explicit filemark: Close adds one, as st does.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openT(t, path, Options{ReadOnly: true})
	got := readAll(t, d)
	if len(got) != 4 || got[3] != nil || !bytes.Equal(got[2], fill(1002, 'c')) {
		t.Fatalf("reopened volume has %d entries, want 3 records and a filemark", len(got))
	}
	if st, _ := d.Status(); !st.WriteProtected {
		t.Fatalf("read-only volume status %v lacks WR_PROT", st)
	}
	if err := d.WriteRecord([]byte("x")); !errors.Is(err, tapeio.ErrWriteProtected) {
		t.Fatalf("write to read-only volume: %v", err)
	}
	if err := d.WriteFilemarks(1); !errors.Is(err, tapeio.ErrWriteProtected) {
		t.Fatalf("filemark on read-only volume: %v", err)
	}
}

func TestTornTailIsEndOfData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v")
	d := openT(t, path, Options{})
	recs := [][]byte{fill(500, 'a'), fill(600, 'b'), fill(700, 'c')}
	for _, r := range recs[:2] {
		if err := d.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteFilemarks(1); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord(recs[2]); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.lastWrite = false // simulate a crash: no closing filemark
	d.mu.Unlock()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recEnd := [...]int{16 + 9 + 500, 16 + 2*9 + 500 + 600}
	fmEnd := recEnd[1] + 9
	full := len(raw)
	// Cut points around every entry boundary and a stride through the data
	// (each costs an fsync): the volume must open and read as a prefix.
	var cuts []int
	for _, b := range []int{fileHeaderLen + 3, recEnd[0], recEnd[1], fmEnd, full - 3} {
		for c := b - 3; c <= min(b+3, full); c++ {
			cuts = append(cuts, c)
		}
	}
	for c := fileHeaderLen; c < full; c += 61 {
		cuts = append(cuts, c)
	}
	for _, cut := range cuts {
		p := filepath.Join(dir, "cut")
		if err := os.WriteFile(p, raw[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		c := openT(t, p, Options{})
		got := readAll(t, c)
		want := 0
		switch {
		case cut == full:
			want = 4
		case cut >= fmEnd:
			want = 3
		case cut >= recEnd[1]:
			want = 2
		case cut >= recEnd[0]:
			want = 1
		}
		if len(got) != want {
			t.Fatalf("cut at %d of %d: %d entries, want %d", cut, full, len(got), want)
		}
		// Appending after a torn tail must replace it.
		if err := c.SeekEndOfData(); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteRecord(fill(10, 'z')); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c); len(got) != want+1 || !bytes.Equal(got[want], fill(10, 'z')) {
			t.Fatalf("cut at %d: append after torn tail: %d entries", cut, len(got))
		}
		c.Close()
	}
	// Garbage in the unsynced data of the last record: also end of data.
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 1
	p := filepath.Join(dir, "bad")
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, openT(t, p, Options{})); len(got) != 3 {
		t.Fatalf("corrupt last record: %d entries, want 3", len(got))
	}
}

func TestCorruptRecordBeforeFilemarkIsMediumError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v")
	d := openT(t, path, Options{})
	for _, r := range [][]byte{fill(100, 'a'), fill(100, 'b')} {
		if err := d.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	raw, _ := os.ReadFile(path)
	raw[16+9+50] ^= 0x10 // inside record 0, which a filemark follows
	os.WriteFile(path, raw, 0o644)
	d = openT(t, path, Options{})
	buf := make([]byte, 200)
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrIO) {
		t.Fatalf("read of corrupt record: %v, want ErrIO", err)
	}
	if n, err := d.ReadRecord(buf); err != nil || !bytes.Equal(buf[:n], fill(100, 'b')) {
		t.Fatalf("read after medium error: %d, %v; want the next record", n, err)
	}
}

func TestFaultInjection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v")
	d := openT(t, path, Options{Faults: Faults{FailWrite: 2}})
	if err := d.WriteRecord(fill(10, 'a')); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord(fill(10, 'b')); !errors.Is(err, tapeio.ErrIO) {
		t.Fatalf("second write: %v, want injected ErrIO", err)
	}
	for _, r := range [][]byte{fill(10, 'c'), fill(10, 'd')} {
		if err := d.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	d = openT(t, path, Options{Faults: Faults{FailRead: 2, Flips: []Flip{{Block: 2, Bit: 9}}}})
	buf := make([]byte, 100)
	if n, err := d.ReadRecord(buf); err != nil || !bytes.Equal(buf[:n], fill(10, 'a')) {
		t.Fatalf("read 1: %d %v", n, err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrIO) {
		t.Fatalf("read 2: %v, want injected ErrIO", err)
	}
	n, err := d.ReadRecord(buf)
	want := fill(10, 'd')
	want[1] ^= 2
	if err != nil || !bytes.Equal(buf[:n], want) {
		t.Fatalf("read 3 = %q, %v; want %q (bit 9 flipped, silently)", buf[:n], err, want)
	}
}

func TestEarlyWarningAlternates(t *testing.T) {
	// Capacity for the header and 10 entries of 1000 bytes; zone of 3.
	const rec = 1000 + entryHeadLen
	d := openT(t, filepath.Join(t.TempDir(), "v"), Options{Capacity: 16 + 10*rec, EarlyWarning: 3 * rec})
	var got []bool
	for i := 0; i < 16; i++ {
		got = append(got, d.WriteRecord(fill(1000, 'x')) == nil)
	}
	// 7 fit before the zone (the 7th ends at its start), then st's
	// alternation: refused, accepted, ... until 10 records fill the
	// capacity exactly, and then every write is refused.
	want := []bool{true, true, true, true, true, true, true, false, true, false, true, false, true, false, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("write outcomes %v, want %v", got, want)
		}
	}
	if st, _ := d.Status(); !st.EOT || !st.EarlyWarning {
		t.Fatalf("status at physical end: %v", st)
	}
}

func TestBusyAndNotVolume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v")
	openT(t, path, Options{})
	if _, err := Open(path, Options{}); !errors.Is(err, tapeio.ErrBusy) {
		t.Fatalf("second open: %v, want ErrBusy", err)
	}
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("precious data, not a tape volume"), 0o644)
	if _, err := Open(other, Options{}); !errors.Is(err, ErrNotVolume) {
		t.Fatalf("open of a foreign file: %v, want ErrNotVolume", err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), Options{ReadOnly: true}); !errors.Is(err, tapeio.ErrNoMedium) {
		t.Fatalf("read-only open of missing volume: %v, want ErrNoMedium", err)
	}
}

func TestFixedReadStopsBeforeFilemark(t *testing.T) {
	d := openT(t, filepath.Join(t.TempDir(), "v"), Options{BlockSize: 100})
	d.WriteRecord(fill(200, 'a'))
	d.WriteFilemarks(1)
	d.WriteRecord(fill(100, 'b'))
	d.Rewind()
	buf := make([]byte, 500)
	if n, err := d.ReadRecord(buf); n != 200 || err != nil {
		t.Fatalf("fixed read before filemark = %d, %v; want 200, nil", n, err)
	}
	if _, err := d.ReadRecord(buf); !errors.Is(err, tapeio.ErrFilemark) {
		t.Fatalf("next read: %v, want ErrFilemark", err)
	}
	if n, err := d.ReadRecord(buf); n != 100 || err != nil {
		t.Fatalf("read of file 1 = %d, %v", n, err)
	}
}

func TestDirChanger(t *testing.T) {
	dir := t.TempDir()
	c, err := NewDirChanger(dir, 3, Options{Capacity: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slots, err := c.Slots()
	if err != nil || len(slots) != 3 || slots[2].Number != 3 || !slots[2].Full {
		t.Fatalf("slots = %v, %v", slots, err)
	}
	ctx := context.Background()
	d, err := c.Load(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Loaded(); !ok || s != 2 {
		t.Fatalf("loaded = %d, %v", s, ok)
	}
	if _, err := c.Load(ctx, 1); !errors.Is(err, tapeio.ErrDriveFull) {
		t.Fatalf("load while loaded: %v", err)
	}
	if _, err := c.Load(ctx, 4); !errors.Is(err, tapeio.ErrNoSuchSlot) {
		t.Fatalf("load slot 4 of 3: %v", err)
	}
	if err := d.WriteRecord([]byte("slot two")); err != nil {
		t.Fatal(err)
	}
	if err := c.Unload(); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRecord([]byte("x")); !errors.Is(err, tapeio.ErrClosed) {
		t.Fatalf("write after unload: %v", err)
	}
	if _, ok := c.Loaded(); ok {
		t.Fatal("still loaded after unload")
	}
	d, err = c.Load(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d)
	if len(got) != 2 || string(got[0]) != "slot two" || got[1] != nil {
		t.Fatalf("slot 2 after reload: %q", got)
	}
	if _, err := os.Stat(c.SlotPath(2)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c.Unload()
	if _, err := c.Load(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("load with cancelled context: %v", err)
	}
}
