package volume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"cairn/tapeio"
	"cairn/tapeio/emulator"
)

// failingReader returns data, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestAbortedFileKeepsWriterUsable(t *testing.T) {
	s := newTapeSet(t, 0, 0)
	ctx := context.Background()
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: MinBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	srcErr := errors.New("pg_dump exited with status 1")
	info, err := w.WriteFile(ctx, KindPack, "broken", &failingReader{data: randomBytes(1, 10000), err: srcErr})
	if !errors.Is(err, ErrAborted) || !errors.Is(err, srcErr) || !info.Aborted {
		t.Fatalf("write of failing source: %v (aborted %v)", err, info.Aborted)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.WriteFile(cctx, KindPack, "cancelled", bytes.NewReader(randomBytes(2, 100))); !errors.Is(err, context.Canceled) {
		t.Fatalf("write with cancelled context: %v", err)
	}
	good := randomBytes(3, 20000)
	if _, err := w.WriteFile(ctx, KindIndex, "good", bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	res, rep := readSet(t, s)
	if err := res.partial[0]; !errors.Is(err, ErrAborted) {
		t.Fatalf("reading the aborted file: %v", err)
	}
	if err := res.partial[1]; !errors.Is(err, ErrAborted) {
		t.Fatalf("reading the cancelled file: %v", err)
	}
	if !bytes.Equal(res.files[2], good) || len(rep.Damaged) != 0 {
		t.Fatalf("file after aborted ones: %d bytes, damage %v", len(res.files[2]), rep.Damaged)
	}
}

func TestRefusesToOverwriteOwnSet(t *testing.T) {
	s := newTapeSet(t, 1<<20, 128<<10)
	ctx := context.Background()
	// The operator loads volume 1 again when volume 2 is asked for.
	next := func(ctx context.Context, seq int) (tapeio.Drive, error) { return s.next(ctx, 1) }
	w, err := NewWriter(ctx, WriterOptions{NextVolume: next, BlockSize: MinBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.WriteFile(ctx, KindPack, "big", bytes.NewReader(randomBytes(1, 2<<20)))
	if !errors.Is(err, ErrSameSet) {
		t.Fatalf("spanning onto volume 1 again: %v, want ErrSameSet", err)
	}
	if _, err := w.WriteFile(ctx, KindPack, "more", bytes.NewReader(nil)); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("write after failure: %v, want ErrWriterFailed", err)
	}
	w.Close(ctx)
	// Volume 1 is intact: its label and first blocks read.
	d, err := s.open(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v, err := OpenVolume(ctx, d)
	if err != nil || v.Label().Seq != 1 {
		t.Fatalf("volume 1 after refusal: %v", err)
	}
	f, err := v.Next(ctx)
	if err != nil || f.Name != "big" {
		t.Fatalf("first file on volume 1: %v", err)
	}
	if n, err := io.Copy(io.Discard, f); err != nil || n < 512<<10 {
		t.Fatalf("volume 1 fragment: %d bytes, %v", n, err)
	}
}

func TestCheckVolumePolicy(t *testing.T) {
	s := newTapeSet(t, 0, 0)
	ctx := context.Background()
	writeSet(t, s, []testFile{{KindConfig, "config", []byte("old set")}})
	var seen []Label
	policy := func(old Label) error {
		seen = append(seen, old)
		return errors.New("retention: volume not expired")
	}
	_, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: MinBlockSize, CheckVolume: policy})
	if err == nil || len(seen) != 1 || seen[0].Seq != 1 || seen[0].Host != "testhost" {
		t.Fatalf("policy saw %+v, NewWriter: %v", seen, err)
	}
	// A different set may be recycled by default.
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: MinBlockSize})
	if err != nil {
		t.Fatalf("recycling a volume of another set: %v", err)
	}
	w.Close(ctx)
}

func TestDriveErrorFailsWriter(t *testing.T) {
	s := newTapeSet(t, 0, 0)
	s.opts.Faults = emulator.Faults{FailWrite: 3} // label, block 1, then this
	ctx := context.Background()
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: MinBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.WriteFile(ctx, KindPack, "p", bytes.NewReader(randomBytes(1, 20000)))
	if !errors.Is(err, tapeio.ErrIO) {
		t.Fatalf("write with failing drive: %v", err)
	}
	if _, err := w.Close(ctx); !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("close after failure: %v", err)
	}
}

func TestFixedBlockModeAndScanOneVolume(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	ctx := context.Background()
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: testBlock, FixedBlockMode: true})
	if err != nil {
		t.Fatal(err)
	}
	files := exportLike()
	for _, f := range files {
		if _, err := w.WriteFile(ctx, f.kind, f.name, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := w.Close(ctx)
	if err != nil || len(sum.Volumes) != 3 {
		t.Fatalf("close: %v, %d volumes", err, len(sum.Volumes))
	}
	// tape scan's view: volume 3 alone, no catalog, no earlier volumes.
	d, err := s.open(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v, err := OpenVolume(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if l := v.Label(); l.Seq != 3 || l.SetID != sum.SetID || l.BlockSize != testBlock {
		t.Fatalf("label %+v", l)
	}
	var frags []*Fragment
	for {
		f, err := v.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		want := files[f.SetFile].data[f.DataOffset:]
		if !bytes.Equal(data, want) || !f.Last() {
			t.Fatalf("fragment of %s at %d: %d bytes, want %d", f.Name, f.DataOffset, len(data), len(want))
		}
		frags = append(frags, f)
	}
	if len(frags) == 0 || frags[0].Flags&FlagContinued == 0 || frags[0].DataOffset == 0 {
		t.Fatalf("volume 3 should start with a continued fragment: %+v", frags)
	}
	if eos, ok := v.EndOfSet(); !ok || eos.Files != uint32(len(files)) {
		t.Fatalf("end of set on the last volume: %+v %v", eos, ok)
	}
}

func TestWrongVolumeRefused(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	writeSet(t, s, exportLike())
	ctx := context.Background()
	swapped := func(ctx context.Context, seq int) (tapeio.Drive, error) {
		if seq == 2 {
			seq = 3
		}
		return s.open(ctx, seq)
	}
	r, err := NewSetReader(SetReaderOptions{OpenVolume: swapped})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		f, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if _, err := io.Copy(io.Discard, f); err != nil {
			if !errors.Is(err, ErrWrongVolume) {
				t.Fatalf("read across a wrong volume: %v, want ErrWrongVolume", err)
			}
			return
		}
	}
}

func TestDamagedFirstBlock(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	files := exportLike()
	infos, _ := writeSet(t, s, files)
	victim := 8 // wholly on volume 2
	if !onlyOn(infos[victim], 2) {
		t.Fatalf("file %d extents %v", victim, infos[victim].Extents)
	}
	s.faults[2] = emulatorFlip(int64(infos[victim].Extents[0].FirstBlock), 8*200)
	res, rep := readSet(t, s)
	if len(rep.Damaged) != 1 || rep.Damaged[0].Block != infos[victim].Extents[0].FirstBlock || len(res.errs) != 1 {
		t.Fatalf("damage %v, errors %v", rep.Damaged, res.errs)
	}
	if len(rep.UnseenFiles) != 1 || rep.UnseenFiles[0] != uint32(victim) {
		t.Fatalf("unseen %v, want [%d]", rep.UnseenFiles, victim)
	}
	for i, f := range files {
		if i != victim && !bytes.Equal(res.files[uint32(i)], f.data) {
			t.Fatalf("file %d not intact", i)
		}
	}
}

// Two writes of the same set id (an export retried) must not be spliced:
// volume 2 of the second run does not continue volume 1 of the first.
func TestMixedRunsOfSameSetNotSpliced(t *testing.T) {
	ctx := context.Background()
	id := NewID()
	write := func(s *tapeSet, files []testFile) {
		w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: testBlock, SetID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if _, err := w.WriteFile(ctx, f.kind, f.name, bytes.NewReader(f.data)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, b := newTapeSet(t, smallTape, smallEW), newTapeSet(t, smallTape, smallEW)
	filesA := exportLike()
	filesB := exportLike()
	filesB[4].data = filesB[4].data[:len(filesB[4].data)-100000] // shifts the spanning point
	write(a, filesA)
	write(b, filesB)
	mixed := func(ctx context.Context, seq int) (tapeio.Drive, error) {
		if seq == 1 {
			return a.open(ctx, seq)
		}
		return b.open(ctx, seq)
	}
	r, err := NewSetReader(SetReaderOptions{OpenVolume: mixed})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 100; i++ {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		data, err := io.ReadAll(f)
		if err == nil && !bytes.Equal(data, filesA[f.SetFile].data) && !bytes.Equal(data, filesB[f.SetFile].data) {
			t.Fatalf("file %d %s spliced from two runs (%d bytes)", f.SetFile, f.Name, len(data))
		}
	}
	found := false
	for _, e := range r.Report().Incomplete {
		found = found || errors.Is(e, ErrSequence)
	}
	if !found {
		t.Fatalf("no sequence error reported: %+v", r.Report().Incomplete)
	}
}

func TestMediumTooSmallFailsInsteadOfLooping(t *testing.T) {
	s := newTapeSet(t, 16+2*(9+MinBlockSize)-1000, 1000) // label and filemark fit, no data block
	ctx := context.Background()
	asked := 0
	next := func(ctx context.Context, seq int) (tapeio.Drive, error) {
		asked++
		return s.next(ctx, seq)
	}
	w, err := NewWriter(ctx, WriterOptions{NextVolume: next, BlockSize: MinBlockSize})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.WriteFile(ctx, KindPack, "p", bytes.NewReader(randomBytes(1, 100)))
	if err == nil || asked != 1 {
		t.Fatalf("write to a too small medium: %v after asking for %d volumes", err, asked)
	}
}
