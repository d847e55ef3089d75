package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cairn/internal/crypto"
	"cairn/sources/fs/fstest"
	"cairn/tapeio/export"
	"cairn/tapeio/scan"
)

// tapeFixture is a repository with three snapshots exported once to a
// directory changer of small volumes.
type tapeFixture struct {
	tr      *testRepo
	lib     string            // changer directory
	sources map[string]string // snapshot id -> source dir
	order   []string          // snapshot ids, oldest first
	export  exportJSON
	catalog *export.SetCatalog
}

type exportJSON struct {
	SetID   string `json:"set_id"`
	Volumes []struct {
		Seq    uint32 `json:"seq"`
		Medium string `json:"medium"`
	} `json:"volumes"`
	Packs          int     `json:"packs"`
	PackBytes      int64   `json:"pack_bytes"`
	PacksElsewhere int     `json:"packs_elsewhere"`
	DataBytes      int64   `json:"data_bytes"`
	TapeBytes      int64   `json:"tape_bytes"`
	Seconds        float64 `json:"seconds"`
	Overhead       float64 `json:"overhead"`
}

// changerURL names a library of 2 MiB volumes: the fixture spans several.
func changerURL(dir string) string {
	return "dir:" + dir + "?slots=16&capacity=2MiB&earlywarning=256KiB"
}

func newTapeFixture(t *testing.T) *tapeFixture {
	t.Helper()
	dir := t.TempDir()
	tr := &testRepo{t: t, dir: dir, repo: filepath.Join(dir, "repo"), cache: filepath.Join(dir, "cache"), password: "tape test password"}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(tr.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.env = []string{"CAIRN_REPOSITORY=" + tr.repo, "CAIRN_CACHE_DIR=" + tr.cache, "CAIRN_PASSWORD_FILE=" + pwFile}
	// Default 16 MiB packs: each snapshot's data is one or two packs, which
	// span the 2 MiB volumes.
	tr.mustRun("init")
	f := &tapeFixture{tr: tr, lib: filepath.Join(dir, "lib"), sources: map[string]string{}}
	fix := filepath.Join(dir, "fixture")
	fstest.MakeFixture(t, fix)
	fix2 := filepath.Join(dir, "fixture2")
	copyTree(t, fix, fix2)
	writeRandom(t, filepath.Join(fix2, "files", "added"), 300<<10, 7)
	for _, src := range []string{fix, filepath.Join(goroot(t), "src", "net"), fix2} {
		s := tr.backup(src)
		f.sources[s.SnapshotID] = src
		f.order = append(f.order, s.SnapshotID)
	}
	f.export = tr.exportTape(changerURL(f.lib))
	if len(f.export.Volumes) < 3 {
		t.Fatalf("export took %d volumes, want at least 3", len(f.export.Volumes))
	}
	f.catalog = readCatalog(t, tr, changerURL(f.lib), f.export.SetID)
	return f
}

func writeRandom(t *testing.T, p string, n int, seed byte) {
	t.Helper()
	b := make([]byte, n)
	x := uint32(seed) * 2654435761
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (tr *testRepo) exportTape(changer string, args ...string) exportJSON {
	tr.t.Helper()
	out := tr.mustRun(append([]string{"tape", "export", "--json", "--changer", changer, "--block-size", "64KiB"}, args...)...)
	var ej exportJSON
	if err := json.Unmarshal([]byte(out), &ej); err != nil {
		tr.t.Fatalf("export output %q: %v", out, err)
	}
	tr.t.Logf("export: %d packs (%d bytes) + %d elsewhere; %d data bytes as %d tape bytes (x%.4f), %d volumes, %.1f MB/s",
		ej.Packs, ej.PackBytes, ej.PacksElsewhere, ej.DataBytes, ej.TapeBytes, ej.Overhead, len(ej.Volumes), float64(ej.DataBytes)/ej.Seconds/1e6)
	return ej
}

// readCatalog finds set's catalog with tape list.
func readCatalog(t *testing.T, tr *testRepo, changer, set string) *export.SetCatalog {
	t.Helper()
	var lr scan.ListReport
	if err := json.Unmarshal([]byte(tr.mustRun("tape", "list", "--json", "--changer", changer)), &lr); err != nil {
		t.Fatal(err)
	}
	for _, v := range lr.Volumes {
		if v.Catalog != nil && v.Catalog.SetID == set {
			return v.Catalog
		}
	}
	t.Fatalf("tape list found no catalog of set %s", set)
	return nil
}

// scanTo runs tape scan into a new directory and returns its report and
// exit code, and a testRepo view of the rebuilt repository.
func (f *tapeFixture) scanTo(lib, name string) (*scan.Report, int, *testRepo) {
	t := f.tr.t
	t.Helper()
	target := filepath.Join(f.tr.dir, name)
	res := f.tr.run("tape", "scan", "--json", "--changer", changerURL(lib), "--target", target)
	var rep scan.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("scan exit %d, output %q, stderr %s: %v", res.code, res.stdout, res.stderr, err)
	}
	t.Logf("scan: %d tape bytes in %v (%.1f MB/s), rebuild %v", rep.TapeBytes, rep.ReadTime, float64(rep.TapeBytes)/rep.ReadTime.Seconds()/1e6, rep.RebuildTime)
	rebuilt := *f.tr
	rebuilt.repo = target
	rebuilt.cache = filepath.Join(f.tr.dir, name+"-cache")
	rebuilt.env = append(slices.Clone(f.tr.env), "CAIRN_REPOSITORY="+target, "CAIRN_CACHE_DIR="+rebuilt.cache)
	return &rep, res.code, &rebuilt
}

// restoreAndCompare restores snapshot id of the rebuilt repository and
// compares it with the tree it was taken of.
func (f *tapeFixture) restoreAndCompare(rebuilt *testRepo, id string) {
	t := f.tr.t
	t.Helper()
	target := filepath.Join(rebuilt.repo+"-restore", id[:8])
	rebuilt.mustRun("restore", id, "--target", target)
	src := f.sources[id]
	fstest.CompareTrees(t, src, filepath.Join(target, src))
}

func copyLib(t *testing.T, src string) string {
	t.Helper()
	dst := src + fmt.Sprintf("-copy%d", len(t.Name()))
	copyTree(t, src, dst)
	return dst
}

func (f *tapeFixture) slotPath(lib string, seq uint32) string {
	for _, v := range f.export.Volumes {
		if v.Seq == seq {
			return filepath.Join(lib, v.Medium+".vtape")
		}
	}
	f.tr.t.Fatalf("no volume %d", seq)
	return ""
}

func (f *tapeFixture) snapshotVolumes(id string) []uint32 {
	for _, s := range f.catalog.Snapshots {
		if s.ID.String() == id {
			return s.Volumes
		}
	}
	f.tr.t.Fatalf("snapshot %s not in the catalog", id)
	return nil
}

func TestTapeExportScan(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end tape test")
	}
	f := newTapeFixture(t)
	t.Run("RoundTrip", f.testRoundTrip)
	t.Run("MissingVolume", f.testMissingVolume)
	t.Run("FlippedBit", f.testFlippedBit)
	t.Run("Restore", f.testTapeRestore)
	t.Run("RestoreFlippedBit", f.testTapeRestoreFlippedBit)
	t.Run("RestoreMissingVolume", f.testTapeRestoreMissingVolume)
	t.Run("Incremental", f.testIncremental) // last: it adds a set to the library
}

func (f *tapeFixture) testRoundTrip(t *testing.T) {
	f.tr.t = t
	var vr scan.VerifyReport
	if err := json.Unmarshal([]byte(f.tr.mustRun("tape", "verify", "--json", "--changer", changerURL(f.lib))), &vr); err != nil || !vr.Clean() {
		t.Fatalf("verify of an intact set: %v %+v", err, vr)
	}
	rep, code, rebuilt := f.scanTo(f.lib, "rebuilt")
	if code != 0 || len(rep.Snapshots) != 3 || len(rep.Damaged) > 0 || rep.IndexKept == 0 {
		t.Fatalf("scan exit %d: %+v", code, rep)
	}
	rebuilt.checkClean()
	for _, id := range f.order {
		f.restoreAndCompare(rebuilt, id)
	}
}

func (f *tapeFixture) testMissingVolume(t *testing.T) {
	f.tr.t = t
	// Drop a middle volume that some snapshots need and some do not.
	var missing uint32
	for v := uint32(2); v < uint32(len(f.export.Volumes)) && missing == 0; v++ {
		uses, spares := false, false
		for _, id := range f.order {
			if slices.Contains(f.snapshotVolumes(id), v) {
				uses = true
			} else {
				spares = true
			}
		}
		if uses && spares {
			missing = v
		}
	}
	if missing == 0 {
		t.Fatalf("no middle volume separates the snapshots: %+v", f.catalog.Snapshots)
	}
	lib := copyLib(t, f.lib)
	if err := os.Remove(f.slotPath(lib, missing)); err != nil {
		t.Fatal(err)
	}
	rep, code, rebuilt := f.scanTo(lib, "rebuilt-missing")
	if code != exitPartial || len(rep.Sets) != 1 || !slices.Equal(rep.Sets[0].Missing, []uint32{missing}) {
		t.Fatalf("scan without volume %d: exit %d, sets %+v", missing, code, rep.Sets)
	}
	recovered := map[string]bool{}
	for _, id := range rep.Snapshots {
		recovered[id.String()] = true
	}
	for _, s := range rep.IncompleteSnapshots {
		if !slices.Contains(f.snapshotVolumes(s.ID.String()), missing) {
			t.Errorf("snapshot %s named incomplete, but none of its packs was on volume %d", s.ID.Short(), missing)
		}
		if s.Kept {
			t.Errorf("incomplete snapshot %s stored", s.ID.Short())
		}
	}
	if len(rep.IncompleteSnapshots) == 0 {
		t.Errorf("no snapshot named incomplete without volume %d", missing)
	}
	for _, id := range f.order {
		if !slices.Contains(f.snapshotVolumes(id), missing) && !recovered[id] {
			t.Errorf("snapshot %s is wholly on the remaining volumes but was not recovered", id[:8])
		}
	}
	rebuilt.checkClean()
	for id := range recovered {
		f.restoreAndCompare(rebuilt, id)
	}
}

// flipRecordBit flips one bit of a record in an emulator volume file and
// fixes the emulator's own CRC: the drive returns bad data silently, and
// only the volume format's checksum can notice.
func flipRecordBit(t *testing.T, path string, record uint64, byteOff int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	cast := crc32.MakeTable(crc32.Castagnoli)
	var rec uint64
	for pos := 16; pos+9 <= len(data); {
		typ, n := data[pos], int(le.Uint32(data[pos+1:]))
		if typ == 1 {
			if rec == record {
				d := data[pos+9 : pos+9+n]
				d[byteOff] ^= 0x10
				le.PutUint32(data[pos+5:], crc32.Update(crc32.Checksum(data[pos:pos+5], cast), cast, d))
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			rec++
		}
		pos += 9 + n
	}
	t.Fatalf("record %d not found in %s", record, path)
}

func (f *tapeFixture) testFlippedBit(t *testing.T) {
	f.tr.t = t
	// A middle block of a pack with at least three blocks on one volume.
	var packID string
	var vol uint32
	var blk uint64
	for _, cf := range f.catalog.Files {
		if cf.Kind != "pack" || packID != "" {
			continue
		}
		for _, e := range cf.Extents {
			if e.Blocks >= 3 {
				packID, vol, blk = strings.TrimPrefix(cf.Name, "data/"), e.VolumeSeq, e.FirstBlock+1
				break
			}
		}
	}
	if packID == "" {
		t.Fatal("no pack of three blocks")
	}
	lib := copyLib(t, f.lib)
	flipRecordBit(t, f.slotPath(lib, vol), blk, 64+5000)

	res := f.tr.run("tape", "verify", "--json", "--changer", changerURL(lib))
	var vr scan.VerifyReport
	if err := json.Unmarshal([]byte(res.stdout), &vr); err != nil || res.code != exitError {
		t.Fatalf("verify: exit %d, %v, %s", res.code, err, res.stdout)
	}
	if d := vr.Sets[0].Damaged; len(d) != 1 || d[0].VolumeSeq != vol || d[0].Block != blk || !strings.Contains(d[0].Error, "checksum") {
		t.Errorf("verify reported %+v, want volume %d block %d checksum", d, vol, blk)
	}
	human := f.tr.run("tape", "verify", "--changer", changerURL(lib)).stdout
	if !strings.Contains(human, fmt.Sprintf("volume %d ", vol)) || !strings.Contains(human, fmt.Sprintf("block %d:", blk)) {
		t.Errorf("verify output does not name volume %d block %d:\n%s", vol, blk, human)
	}

	rep, code, rebuilt := f.scanTo(lib, "rebuilt-flip")
	if code != exitPartial || len(rep.Damaged) != 1 || rep.Damaged[0].VolumeSeq != vol || rep.Damaged[0].Block != blk {
		t.Fatalf("scan: exit %d, damaged %+v, want volume %d block %d", code, rep.Damaged, vol, blk)
	}
	if len(rep.IncompletePacks) != 1 || rep.IncompletePacks[0].ID != packID {
		t.Fatalf("incomplete packs %+v, want only %s", rep.IncompletePacks, packID)
	}
	loss := rep.IncompletePacks[0]
	if len(loss.Holes) != 1 || loss.Holes[0].End-loss.Holes[0].Start != 64<<10-64 {
		t.Fatalf("holes %+v, want one block's payload", loss.Holes)
	}
	// Exactly the blobs overlapping the damaged block are lost.
	var pk struct {
		Blobs []struct {
			ID     crypto.ID `json:"id"`
			Offset int64     `json:"offset"`
			Length int64     `json:"length"`
		} `json:"blobs"`
	}
	if err := json.Unmarshal([]byte(f.tr.mustRun("cat", "pack", packID)), &pk); err != nil {
		t.Fatal(err)
	}
	var want []string
	h := loss.Holes[0]
	for _, b := range pk.Blobs {
		if b.Offset < h.End && h.Start < b.Offset+b.Length {
			want = append(want, b.ID.String())
		}
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(loss.Lost))
	if !slices.Equal(got, want) || loss.Salvaged != len(pk.Blobs)-len(want) || loss.Salvaged == 0 {
		t.Errorf("lost %v, salvaged %d of %d; want lost %v", got, loss.Salvaged, len(pk.Blobs), want)
	}
	t.Logf("flipped bit in volume %d block %d: pack %.8s lost %d of %d blobs", vol, blk, packID, len(want), len(pk.Blobs))
	rebuilt.checkClean()
	for _, id := range rep.Snapshots {
		f.restoreAndCompare(rebuilt, id.String())
	}
}

func (f *tapeFixture) testIncremental(t *testing.T) {
	f.tr.t = t
	packs := func() map[string]int64 {
		m := map[string]int64{}
		filepath.Walk(filepath.Join(f.tr.repo, "data"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				m[fi.Name()] = fi.Size()
			}
			return nil
		})
		return m
	}
	before := packs()
	fix3 := filepath.Join(f.tr.dir, "fixture3")
	copyTree(t, f.sources[f.order[2]], fix3)
	writeRandom(t, filepath.Join(fix3, "files", "added-later"), 200<<10, 9)
	s := f.tr.backup(fix3)
	f.sources[s.SnapshotID] = fix3
	var newBytes int64
	newPacks := 0
	for name, size := range packs() {
		if _, ok := before[name]; !ok {
			newBytes += size
			newPacks++
		}
	}
	// The plan touches no tape.
	digest := dirDigest(t, f.lib)
	plan := f.tr.mustRun("tape", "export", "--dry-run", "--incremental")
	if !strings.Contains(plan, fmt.Sprintf("%d packs to write", newPacks)) || !strings.Contains(plan, "already on earlier sets") {
		t.Errorf("plan:\n%s\nwant %d packs to write", plan, newPacks)
	}
	if dirDigest(t, f.lib) != digest {
		t.Error("export --dry-run changed the library")
	}
	ej := f.tr.exportTape(changerURL(f.lib), "--incremental")
	if ej.Packs != newPacks || ej.PackBytes != newBytes || ej.PacksElsewhere == 0 {
		t.Fatalf("incremental export wrote %d packs (%d bytes), want %d (%d bytes)", ej.Packs, ej.PackBytes, newPacks, newBytes)
	}
	// On tape too: the new set's pack files hold exactly the new packs.
	cat := readCatalog(t, f.tr, changerURL(f.lib), ej.SetID)
	var onTape int64
	for _, cf := range cat.Files {
		if cf.Kind == "pack" {
			id, _ := export.ParsePackName(cf.Name)
			if _, ok := before[id.String()]; ok {
				t.Errorf("incremental set holds old pack %s", cf.Name)
			}
			onTape += cf.Size
		}
	}
	if onTape != newBytes || !cat.Incremental || !slices.Contains(cat.BaseSets, f.export.SetID) {
		t.Errorf("incremental set: %d pack bytes on tape, want %d; base sets %v", onTape, newBytes, cat.BaseSets)
	}
	// Both sets together rebuild every snapshot.
	rep, code, rebuilt := f.scanTo(f.lib, "rebuilt-incr")
	if code != 0 || len(rep.Snapshots) != 4 || len(rep.Sets) != 2 {
		t.Fatalf("scan of full + incremental: exit %d, %d snapshots, sets %+v", code, len(rep.Snapshots), rep.Sets)
	}
	rebuilt.checkClean()
	f.restoreAndCompare(rebuilt, s.SnapshotID)
	// Tape restore of the incremental snapshot: its unchanged trees are on
	// the first set, so the incremental set's data goes by before the plan
	// is complete and a second pass reads it.
	trep, code, target := f.tapeRestore(f.lib, s.SnapshotID)
	if code != 0 || !trep.Complete() || trep.Passes != 2 || trep.Note == "" || len(trep.Sets) != 2 {
		t.Fatalf("tape restore of the incremental snapshot: exit %d, %+v", code, trep)
	}
	fstest.CompareTrees(t, fix3, filepath.Join(target, fix3))
}

// smallTapeRepo is a repository with one snapshot of one file of n
// random bytes, in the returned source directory.
func smallTapeRepo(t *testing.T, n int) (*testRepo, string) {
	t.Helper()
	tr := newTestRepo(t)
	src := filepath.Join(tr.dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, filepath.Join(src, "f"), n, 3)
	tr.backup(src)
	return tr, src
}

type labelJSON []struct {
	Medium string `json:"medium"`
	Was    string `json:"was"`
	Label  struct {
		SetID string `json:"SetID"`
		Seq   uint32 `json:"Seq"`
	} `json:"label"`
}

func (tr *testRepo) label(args ...string) labelJSON {
	tr.t.Helper()
	var lj labelJSON
	out := tr.mustRun(append([]string{"tape", "label", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &lj); err != nil {
		tr.t.Fatalf("label output %q: %v", out, err)
	}
	return lj
}

// TestTapeLabel: blank volumes are labelled into a new or an existing
// media set, export takes labelled empty volumes like blank ones, and a
// volume with data is relabelled only with --force.
func TestTapeLabel(t *testing.T) {
	tr, _ := smallTapeRepo(t, 100<<10)
	ch := changerURL(filepath.Join(tr.dir, "lib"))

	lj := tr.label("--changer", ch, "--slot", "1", "--slot", "2")
	if len(lj) != 2 || lj[0].Label.Seq != 1 || lj[1].Label.Seq != 2 || lj[0].Label.SetID != lj[1].Label.SetID || lj[0].Was != "blank" {
		t.Fatalf("labelled %+v", lj)
	}
	set := lj[0].Label.SetID
	joined := tr.label("--changer", ch, "--slot", "4", "--media-set", set)
	if joined[0].Label.SetID != set || joined[0].Label.Seq != 3 {
		t.Fatalf("joining set %s: %+v, want volume 3", set, joined)
	}
	// A labelled, empty volume is relabelled without --force.
	again := tr.label("--changer", ch, "--slot", "2", "--media-set", set, "--seq", "2")
	if !strings.HasPrefix(again[0].Was, "labelled, no data") {
		t.Errorf("slot 2 was %q", again[0].Was)
	}
	ej := tr.exportTape(ch)
	if ej.Volumes[0].Medium != "slot001" {
		t.Fatalf("export skipped the labelled slot 1: %+v", ej.Volumes)
	}
	res := tr.run("tape", "label", "--changer", ch, "--slot", "1")
	if res.code == 0 || !strings.Contains(res.stderr, "holds data") {
		t.Fatalf("relabelling a volume with data: exit %d, %s", res.code, res.stderr)
	}
	if lj := tr.label("--changer", ch, "--slot", "1", "--force"); lj[0].Label.Seq != 1 || !strings.HasPrefix(lj[0].Was, "cairn volume with data") {
		t.Fatalf("--force: %+v", lj)
	}
	if res := tr.run("tape", "list", "--changer", ch); !strings.Contains(res.stdout, "slot001: set ") {
		t.Errorf("tape list after relabel:\n%s", res.stdout)
	}
}

// TestTapeExportSince: --since selects the snapshots taken after a date or
// within a duration, narrowed further by --host.
func TestTapeExportSince(t *testing.T) {
	tr, src := smallTapeRepo(t, 10<<10)
	cut := time.Now().UTC().Format(time.RFC3339Nano)
	writeRandom(t, filepath.Join(src, "g"), 10<<10, 4)
	tr.backup(src)
	host, _ := os.Hostname()
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"--all"}, 2},
		{[]string{"--since", cut}, 1},
		{[]string{"--since", "1d"}, 2},
		{[]string{"--since", "2h", "--host", host}, 2},
	} {
		var plan struct {
			Snapshots int `json:"snapshots"`
		}
		out := tr.mustRun(append([]string{"tape", "export", "--dry-run", "--json"}, c.args...)...)
		if err := json.Unmarshal([]byte(out), &plan); err != nil || plan.Snapshots != c.want {
			t.Errorf("export %v: %d snapshots (%v), want %d", c.args, plan.Snapshots, err, c.want)
		}
	}
	if res := tr.run("tape", "export", "--dry-run", "--since", "1h", "--host", "elsewhere"); res.code == 0 || !strings.Contains(res.stderr, "no snapshot selected") {
		t.Errorf("--since with a host that matches nothing: exit %d, %s", res.code, res.stderr)
	}
	if res := tr.run("tape", "export", "--dry-run", "--since", "yesterday"); res.code == 0 {
		t.Error("--since yesterday accepted")
	}
}

// tapeRestore runs tape restore of snapshot id from lib into a new
// directory and returns the report, the exit code and the directory.
func (f *tapeFixture) tapeRestore(lib, id string, args ...string) (*scan.RestoreReport, int, string) {
	t := f.tr.t
	t.Helper()
	target := filepath.Join(f.tr.dir, "tape-restore", fmt.Sprintf("%s-%d", id[:8], len(args)), filepath.Base(lib))
	res := f.tr.run(append([]string{"tape", "restore", "--json", "--changer", changerURL(lib), "--target", target, id}, args...)...)
	var rep scan.RestoreReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("tape restore exit %d, output %q, stderr %s: %v", res.code, res.stdout, res.stderr, err)
	}
	t.Logf("tape restore %.8s: %d files, %d bytes, %d volumes, %d pass(es), %d tape bytes in %v (%.1f MiB/s)",
		id, rep.Files, rep.Bytes, len(rep.Volumes), rep.Passes, rep.TapeBytes, rep.ReadTime, float64(rep.TapeBytes)/rep.ReadTime.Seconds()/(1<<20))
	return &rep, res.code, target
}

// testTapeRestore restores every snapshot straight from the volumes, in
// one pass over volumes in order, and compares it with its source.
func (f *tapeFixture) testTapeRestore(t *testing.T) {
	f.tr.t = t
	for _, id := range f.order {
		rep, code, target := f.tapeRestore(f.lib, id)
		if code != 0 || !rep.Complete() || rep.Passes != 1 || len(rep.Damaged) > 0 {
			t.Fatalf("tape restore %.8s: exit %d, %+v", id, code, rep)
		}
		seqs := map[uint32]bool{}
		for i, v := range rep.Volumes {
			if seqs[v.Label.Seq] || (i > 0 && v.Label.Seq < rep.Volumes[i-1].Label.Seq) {
				t.Errorf("volumes read %v: not once each, in order", rep.Volumes)
			}
			seqs[v.Label.Seq] = true
		}
		src := f.sources[id]
		fstest.CompareTrees(t, src, filepath.Join(target, src))
		if _, err := os.Stat(filepath.Join(target, ".cairn-tape-restore")); err == nil {
			t.Error("staging directory left in the target")
		}
	}
	// The fixture spans at least three volumes.
	if rep, _, _ := f.tapeRestore(f.lib, f.order[0]); len(rep.Volumes) < 3 {
		t.Errorf("snapshot %.8s read from %d volumes, want at least 3", f.order[0], len(rep.Volumes))
	}
	// --include restores only what it selects.
	sub := "files"
	rep, code, target := f.tapeRestore(f.lib, f.order[0], "--include", sub)
	if code != 0 || rep.Files == 0 {
		t.Fatalf("tape restore --include %s: exit %d, %+v", sub, code, rep)
	}
	src := f.sources[f.order[0]]
	fstest.CompareTrees(t, filepath.Join(src, sub), filepath.Join(target, src, sub))
	entries, _ := os.ReadDir(filepath.Join(target, src))
	if len(entries) != 1 {
		t.Errorf("--include %s restored %d top entries", sub, len(entries))
	}
}

// testTapeRestoreFlippedBit flips a bit in a data pack: tape restore names
// the files that use the damaged blobs, restores every other file intact
// and exits non-zero.
func (f *tapeFixture) testTapeRestoreFlippedBit(t *testing.T) {
	f.tr.t = t
	// The last pack file with three blocks in one extent: a data pack.
	var vol uint32
	var blk uint64
	for _, cf := range f.catalog.Files {
		if cf.Kind != "pack" {
			continue
		}
		for _, e := range cf.Extents {
			if e.Blocks >= 3 {
				vol, blk = e.VolumeSeq, e.FirstBlock+1
			}
		}
	}
	if vol == 0 {
		t.Fatal("no pack of three blocks")
	}
	lib := copyLib(t, f.lib)
	flipRecordBit(t, f.slotPath(lib, vol), blk, 64+5000)
	hit := 0
	for _, id := range f.order {
		rep, code, target := f.tapeRestore(lib, id)
		if len(rep.Damaged) != 1 || rep.Damaged[0].VolumeSeq != vol || rep.Damaged[0].Block != blk {
			// The set is read only as far as the snapshot needs.
			if len(rep.Affected) > 0 {
				t.Errorf("snapshot %.8s: files affected %v, damage %+v", id, rep.Affected, rep.Damaged)
			}
		}
		src := f.sources[id]
		affected := map[string]bool{}
		for _, a := range rep.Affected {
			affected[a.Path] = true
		}
		if len(affected) > 0 {
			hit++
			if code == 0 {
				t.Errorf("snapshot %.8s: %d files affected, exit 0", id, len(affected))
			}
			if human := f.tr.run("tape", "restore", "--changer", changerURL(lib), "--target", target+"-human", id); !strings.Contains(human.stdout, "INCOMPLETE "+rep.Affected[0].Path) {
				t.Errorf("human output does not name %s:\n%s", rep.Affected[0].Path, human.stdout)
			}
		} else if code != 0 {
			t.Errorf("snapshot %.8s: exit %d without affected files: %+v", id, code, rep)
		}
		compareExcept(t, src, filepath.Join(target, src), affected, rep.Errors)
	}
	if hit == 0 {
		t.Fatalf("no snapshot restore reported files affected by the flipped bit in volume %d block %d", vol, blk)
	}
}

// testTapeRestoreMissingVolume drops a middle volume that the first
// snapshot needs: the files with data on it are named and cut, the rest
// restored intact, exit 1.
func (f *tapeFixture) testTapeRestoreMissingVolume(t *testing.T) {
	f.tr.t = t
	id := f.order[0]
	vols := f.snapshotVolumes(id)
	if len(vols) < 3 {
		t.Fatalf("snapshot %.8s on volumes %v", id, vols)
	}
	missing := vols[1]
	lib := copyLib(t, f.lib)
	if err := os.Remove(f.slotPath(lib, missing)); err != nil {
		t.Fatal(err)
	}
	rep, code, target := f.tapeRestore(lib, id)
	if code != exitError || len(rep.Affected) == 0 || len(rep.Missing) != 1 || !strings.HasSuffix(rep.Missing[0], fmt.Sprintf("volume %d", missing)) {
		t.Fatalf("tape restore without volume %d: exit %d, missing %v, affected %v, errors %v", missing, code, rep.Missing, rep.Affected, rep.Errors)
	}
	affected := map[string]bool{}
	for _, a := range rep.Affected {
		affected[a.Path] = true
	}
	t.Logf("without volume %d: %d files affected, %d restored", missing, len(affected), rep.Files)
	compareExcept(t, f.sources[id], filepath.Join(target, f.sources[id]), affected, rep.Errors)
}

// compareExcept checks that every regular file under src that is not in
// affected (paths relative to the target) was restored with its content
// and mode, and that every affected file is there but shorter. A file
// that is not there must be named in errs (a later hardlink to an
// affected file).
func compareExcept(t *testing.T, src, dst string, affected map[string]bool, errs []string) {
	t.Helper()
	rel0 := strings.TrimPrefix(src, "/")
	seen := 0
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		q := filepath.Join(dst, rel)
		gi, err := os.Lstat(q)
		if err != nil {
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, q) }) {
				t.Errorf("%s not restored, and no error names it: %v", rel, err)
			}
			return nil
		}
		// JSON carries a non-UTF-8 name with U+FFFD for each bad byte.
		if affected[string([]rune(filepath.Join(rel0, rel)))] {
			seen++
			if gi.Size() >= fi.Size() {
				t.Errorf("affected %s has %d bytes, source %d: not cut", rel, gi.Size(), fi.Size())
			}
			return nil
		}
		if gi.Mode() != fi.Mode() || !gi.ModTime().Equal(fi.ModTime()) {
			t.Errorf("%s: mode %v mtime %v, source %v %v", rel, gi.Mode(), gi.ModTime(), fi.Mode(), fi.ModTime())
		}
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(q)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the source but is not named affected", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(affected) {
		t.Errorf("%d affected files named, %d found under %s: %v", len(affected), seen, src, affected)
	}
}
