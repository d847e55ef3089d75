package volume

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

const (
	smallTape = 4 << 20
	smallEW   = 256 << 10
)

func TestSpanThreeVolumes(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	files := exportLike()
	infos, sum := writeSet(t, s, files)
	if len(sum.Volumes) != 3 {
		t.Fatalf("set took %d volumes, want 3 (%+v)", len(sum.Volumes), sum.Volumes)
	}
	if !sum.Volumes[0].Full || !sum.Volumes[1].Full || sum.Volumes[2].Full {
		t.Fatalf("volume fullness %+v: want the first two closed at end of medium", sum.Volumes)
	}
	spanning := 0
	for _, in := range infos {
		if len(in.Extents) > 1 {
			spanning++
		}
		if in.Size != int64(len(files[in.SetFile].data)) {
			t.Fatalf("%s: info size %d, wrote %d", in.Name, in.Size, len(files[in.SetFile].data))
		}
	}
	if spanning != 2 {
		t.Fatalf("%d files span volumes, want 2", spanning)
	}

	res, rep := readSet(t, s)
	if len(res.errs) != 0 || len(rep.Damaged) != 0 || len(rep.UnseenFiles) != 0 || len(rep.MissingVolumes) != 0 {
		t.Fatalf("clean read had errors %v, report %+v", res.errs, rep)
	}
	if rep.EndOfSet == nil || rep.EndOfSet.Files != uint32(len(files)) || rep.EndOfSet.Volumes != 3 {
		t.Fatalf("end of set %+v, want %d files on 3 volumes", rep.EndOfSet, len(files))
	}
	if !slices.Equal(rep.Volumes, []uint32{1, 2, 3}) {
		t.Fatalf("volumes read %v", rep.Volumes)
	}
	for i, f := range files {
		got, ok := res.files[uint32(i)]
		if !ok || !bytes.Equal(got, f.data) || res.names[uint32(i)] != f.name {
			t.Fatalf("file %d %s: read %d bytes (ok %v) as %q, want %d bytes", i, f.name, len(got), ok, res.names[uint32(i)], len(f.data))
		}
	}
}

func TestBitFlipReportsExactlyThatBlock(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	files := exportLike()
	infos, _ := writeSet(t, s, files)
	// A file wholly on volume 2 with at least 3 blocks: flip a bit in the
	// data of its second block.
	victim := -1
	for i, in := range infos {
		if onlyOn(in, 2) && in.Extents[0].Blocks >= 3 {
			victim = i
			break
		}
	}
	if victim < 0 {
		t.Fatal("no file wholly on volume 2 with 3 blocks")
	}
	block := infos[victim].Extents[0].FirstBlock + 1
	for _, bit := range []int{8 * 1000, 8*30 + 3} { // in the payload; in the header's block number
		t.Run("", func(t *testing.T) {
			s.faults[2] = emulatorFlip(int64(block), bit)
			res, rep := readSet(t, s)
			if len(rep.Damaged) != 1 {
				t.Fatalf("damaged blocks %v, want exactly one", rep.Damaged)
			}
			if d := rep.Damaged[0]; d.VolumeSeq != 2 || d.Block != block || !errors.Is(d, ErrChecksum) {
				t.Fatalf("damage reported at volume %d block %d (%v), want volume 2 block %d checksum", d.VolumeSeq, d.Block, d.Err, block)
			}
			err := res.partial[uint32(victim)]
			var be *BlockError
			if !errors.As(err, &be) || be.Block != block || !errors.Is(err, ErrIncomplete) {
				t.Fatalf("reading the damaged file gave %v", err)
			}
			for i, f := range files {
				if i == victim {
					continue
				}
				if got, ok := res.files[uint32(i)]; !ok || !bytes.Equal(got, f.data) {
					t.Fatalf("file %d %s not read back intact beside the damage", i, f.name)
				}
			}
		})
	}
}

func TestMissingVolume(t *testing.T) {
	s := newTapeSet(t, smallTape, smallEW)
	files := exportLike()
	infos, _ := writeSet(t, s, files)
	s.missing[2] = true
	res, rep := readSet(t, s)
	if !slices.Equal(rep.MissingVolumes, []uint32{2}) || !slices.Equal(rep.Volumes, []uint32{1, 3}) {
		t.Fatalf("volumes read %v, missing %v", rep.Volumes, rep.MissingVolumes)
	}
	incomplete := map[uint32]*IncompleteError{}
	for _, e := range rep.Incomplete {
		incomplete[e.SetFile] = e
	}
	var wantUnseen []uint32
	for i, in := range infos {
		sf := uint32(i)
		switch {
		case onlyOn(in, 1) || onlyOn(in, 3):
			if got, ok := res.files[sf]; !ok || !bytes.Equal(got, files[i].data) {
				t.Errorf("file %d %s (volume %d only) not read back intact", i, in.Name, in.Extents[0].VolumeSeq)
			}
		case spans(in, 1, 2) || spans(in, 2, 3):
			e := incomplete[sf]
			if e == nil || e.MissingVolume != 2 || e.Name != in.Name {
				t.Errorf("file %d %s spanning %v: incomplete report %v, want missing volume 2", i, in.Name, in.Extents, e)
			}
			if _, ok := res.files[sf]; ok {
				t.Errorf("spanning file %d reported complete", i)
			}
		case onlyOn(in, 2):
			wantUnseen = append(wantUnseen, sf)
		default:
			t.Fatalf("file %d has extents %v", i, in.Extents)
		}
	}
	if len(incomplete) != 2 {
		t.Errorf("%d files reported incomplete, want the 2 spanning ones", len(incomplete))
	}
	if !slices.Equal(rep.UnseenFiles, wantUnseen) {
		t.Errorf("unseen files %v, want %v (those wholly on volume 2)", rep.UnseenFiles, wantUnseen)
	}
	if len(wantUnseen) == 0 {
		t.Error("test set has no file wholly on volume 2")
	}
}

func TestUnseenListIsBounded(t *testing.T) {
	r, err := NewSetReader(SetReaderOptions{OpenVolume: newTapeSet(t, 0, 0).open})
	if err != nil {
		t.Fatal(err)
	}
	r.seen(3)
	r.seen(maxUnseen + 10) // a checksummed but absurd file number
	rep := r.Report()
	if len(rep.UnseenFiles) != maxUnseen || !rep.UnseenTruncated || rep.UnseenFiles[0] != 0 || r.nextFile != maxUnseen+11 {
		t.Fatalf("%d unseen (truncated %v), next %d", len(rep.UnseenFiles), rep.UnseenTruncated, r.nextFile)
	}
}
