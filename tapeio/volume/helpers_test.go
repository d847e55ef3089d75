package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"cairn/tapeio"
	"cairn/tapeio/emulator"
)

// tapeSet is a set of emulated volumes in a directory.
type tapeSet struct {
	dir     string
	opts    emulator.Options
	faults  map[int]emulator.Faults
	missing map[int]bool
}

func newTapeSet(t testing.TB, capacity, earlyWarning int64) *tapeSet {
	return &tapeSet{
		dir:     t.TempDir(),
		opts:    emulator.Options{Capacity: capacity, EarlyWarning: earlyWarning},
		faults:  map[int]emulator.Faults{},
		missing: map[int]bool{},
	}
}

func (s *tapeSet) path(seq int) string {
	return filepath.Join(s.dir, fmt.Sprintf("vol%03d.vtape", seq))
}

// next is a WriterOptions.NextVolume.
func (s *tapeSet) next(ctx context.Context, seq int) (tapeio.Drive, error) {
	return emulator.Open(s.path(seq), s.opts)
}

// open is a SetReaderOptions.OpenVolume.
func (s *tapeSet) open(ctx context.Context, seq int) (tapeio.Drive, error) {
	if s.missing[seq] {
		return nil, fmt.Errorf("vol%03d: %w", seq, ErrVolumeMissing)
	}
	if _, err := os.Stat(s.path(seq)); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoMoreVolumes
	}
	o := s.opts
	o.ReadOnly, o.Faults = true, s.faults[seq]
	return emulator.Open(s.path(seq), o)
}

// tapeBytes is the size of all volume files.
func (s *tapeSet) tapeBytes(t testing.TB) int64 {
	var n int64
	for seq := 1; ; seq++ {
		st, err := os.Stat(s.path(seq))
		if err != nil {
			return n
		}
		n += st.Size()
	}
}

type testFile struct {
	kind Kind
	name string
	data []byte
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// exportLike is a multi-MiB set shaped like an export: small metadata
// files, packs of various sizes, a catalog.
func exportLike() []testFile {
	files := []testFile{
		{KindConfig, "config", randomBytes(1, 300)},
		{KindKeys, "keys/3f2a", randomBytes(2, 1024)},
		{KindSnapshot, "snapshots", randomBytes(3, 5000)},
		{KindIndex, "index", randomBytes(4, 40<<10)},
	}
	for i, kib := range []int{700, 1300, 2048, 900, 1600, 500, 2500, 64 - 1} {
		files = append(files, testFile{KindPack, fmt.Sprintf("data/%02x/pack%d", i*37, i), randomBytes(uint64(10+i), kib<<10)})
	}
	files = append(files, testFile{KindPack, "data/empty", nil})
	return append(files, testFile{KindCatalog, "catalog", randomBytes(99, 20<<10)})
}

const testBlock = 64 << 10

func writeSet(t testing.TB, s *tapeSet, files []testFile) ([]FileInfo, Summary) {
	t.Helper()
	ctx := context.Background()
	w, err := NewWriter(ctx, WriterOptions{NextVolume: s.next, BlockSize: testBlock, Host: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	var infos []FileInfo
	for _, f := range files {
		info, err := w.WriteFile(ctx, f.kind, f.name, bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("write %s: %v", f.name, err)
		}
		infos = append(infos, info)
	}
	sum, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return infos, sum
}

type readResult struct {
	files   map[uint32][]byte // complete files by set file number
	names   map[uint32]string
	errs    []error // from Next and Read
	partial map[uint32]error
}

func readSet(t testing.TB, s *tapeSet) (readResult, Report) {
	t.Helper()
	ctx := context.Background()
	r, err := NewSetReader(SetReaderOptions{OpenVolume: s.open})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := readResult{files: map[uint32][]byte{}, names: map[uint32]string{}, partial: map[uint32]error{}}
	for i := 0; i < 1000; i++ {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return res, r.Report()
		}
		if err != nil {
			var be *BlockError
			var ie *IncompleteError
			if !errors.As(err, &be) && !errors.As(err, &ie) {
				t.Fatalf("next: %v", err)
			}
			res.errs = append(res.errs, err)
			continue
		}
		data, err := io.ReadAll(f)
		res.names[f.SetFile] = f.Name
		if err != nil {
			res.errs = append(res.errs, err)
			res.partial[f.SetFile] = err
			continue
		}
		res.files[f.SetFile] = data
	}
	t.Fatal("reader did not end")
	return res, Report{}
}

// onlyOn reports whether all of a file's extents are on volume seq.
func onlyOn(info FileInfo, seq uint32) bool {
	for _, e := range info.Extents {
		if e.VolumeSeq != seq {
			return false
		}
	}
	return len(info.Extents) > 0
}

func spans(info FileInfo, a, b uint32) bool {
	return len(info.Extents) == 2 && info.Extents[0].VolumeSeq == a && info.Extents[1].VolumeSeq == b
}

func emulatorFlip(block int64, bit int) emulator.Faults {
	return emulator.Faults{Flips: []emulator.Flip{{Block: block, Bit: bit}}}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
