package vmware

import (
	"testing"
	"time"

	"cairn/chunker"

	"cairn/sources/vmware/vmtest"
)

// fillVM writes the test layout to a VM's two disks: random data, written
// zeros and a region duplicated between the disks; the rest stays
// unallocated.
func fillVM(t *testing.T, e *simEnv, disks []vmtest.DiskFile, seed uint64) {
	dup := vmtest.RandBytes(9, 32*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(seed, 48*mib))
	e.CBT.Write(t, disks[0], 48*mib, make([]byte, 32*mib))
	e.CBT.Write(t, disks[0], 96*mib, dup)
	e.CBT.Write(t, disks[1], 0, vmtest.RandBytes(seed+1, 24*mib))
	e.CBT.Write(t, disks[1], 40*mib, dup)
}

func TestFullThenIncremental(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	vm, disks := e.MakeVM("vm-a", 256*mib, 256*mib)
	fillVM(t, e, disks, 1)

	start := time.Now()
	full, parent := backupVM(t, e, r, Options{VM: "vm-a"})
	fullTime := time.Since(start)
	det := full.Details
	if !det.CBTEnabled || len(det.Notes) == 0 {
		t.Errorf("CBT enabling not reported: %+v", det)
	}
	if len(det.Disks) != 2 || det.Moref != vm.Value || det.Files == nil || len(det.Files) != 2 {
		t.Fatalf("details %+v", det)
	}
	for _, d := range det.Disks {
		if d.Mode != "full" || d.ChangeID == "" || d.Capacity != 256*mib || d.Datastore == "" || d.Flat == "" {
			t.Errorf("disk details %+v", d)
		}
	}
	allocated := int64(48+32+32+24+32) * mib
	// chunker.Split re-reads up to about a chunk where its parallel
	// segments (32 MiB) re-join, ~5%; the config files add a few KiB.
	if full.BytesRead > allocated+allocated/16+4*mib {
		t.Errorf("full read fetched %d bytes, allocated %d: unallocated areas were read", full.BytesRead, allocated)
	}
	if got := e.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left: %v", got)
	}
	checkRestore(t, r, parent, disks)
	addedFull := r.Stats().BytesAddedRaw

	// A handful of changed regions: in random data, in written zeros, in
	// the duplicated region, in unallocated space, across a 64 KiB block.
	type change struct {
		disk    int
		off, n  int64
		regions int
	}
	changes := []change{
		{0, 5*mib + 4096, 8192, 1}, {0, 60 * mib, 128 << 10, 1}, {0, 100 * mib, 64 << 10, 1},
		{1, 10*mib - 100, 200, 1}, {1, 200 * mib, 256 << 10, 1},
	}
	var changed int64
	for i, c := range changes {
		e.CBT.Write(t, disks[c.disk], c.off, vmtest.RandBytes(uint64(1000+i), int(c.n)))
		// CBT reports whole 64 KiB blocks.
		changed += (c.off+c.n+vmtest.CBTBlock-1)/vmtest.CBTBlock*vmtest.CBTBlock - c.off/vmtest.CBTBlock*vmtest.CBTBlock
	}
	start = time.Now()
	inc, parent2 := backupVM(t, e, r, Options{VM: "vm-a", Parent: parent})
	incTime := time.Since(start)
	for _, d := range inc.Details.Disks {
		if d.Mode != "incremental" || d.Fallback != "" {
			t.Errorf("disk %d: mode %s fallback %q", d.Key, d.Mode, d.Fallback)
		}
	}
	p := r.ChunkerParams()
	avg := int64(p.MinSize) + 1<<p.AverageBits
	bound := changed + int64(len(changes))*(2*avg+512<<10)
	var cbt int64
	for _, d := range inc.Details.Disks {
		cbt += d.ChangedBytes
	}
	t.Logf("full: read %d bytes in %v, added %d; incremental: CBT changed %d bytes in %d regions, read %d bytes in %v (bound %d)",
		full.BytesRead, fullTime.Round(time.Millisecond), addedFull, cbt, len(changes), inc.BytesRead, incTime.Round(time.Millisecond), bound)
	if cbt != changed {
		t.Errorf("CBT reported %d changed bytes, want %d", cbt, changed)
	}
	if inc.BytesRead > bound {
		t.Errorf("incremental read %d bytes, want <= %d", inc.BytesRead, bound)
	}
	if got := e.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left: %v", got)
	}
	checkRestore(t, r, parent2, disks)
}

// TestPagingAndOnePercent changes 1% of the 64 KiB blocks at random and
// makes the simulator answer CBT queries 16 MiB at a time.
func TestPagingAndOnePercent(t *testing.T) {
	e := newSimEnv(t)
	e.CBT.SetPageCap(16 * mib)
	r := newTestRepo(t)
	_, disks := e.MakeVM("vm-p", 128*mib, 128*mib)
	fillVM(t, e, disks, 3)
	start := time.Now()
	full, parent := backupVM(t, e, r, Options{VM: "vm-p"})
	fullTime := time.Since(start)
	queries := e.CBT.Queries()
	if queries < 2*8 {
		t.Errorf("%d CBT queries for two 128 MiB disks in 16 MiB pages", queries)
	}
	var changed []chunker.Extent
	for i := range 2 * 128 * mib / vmtest.CBTBlock / 100 {
		d := i % 2
		blk := int64(vmtest.RandBytes(uint64(i), 8)[0]) | int64(vmtest.RandBytes(uint64(i), 8)[1])<<8
		off := blk % (128 * mib / vmtest.CBTBlock) * vmtest.CBTBlock
		e.CBT.Write(t, disks[d], off, vmtest.RandBytes(uint64(5000+i), vmtest.CBTBlock))
		changed = append(changed, chunker.Extent{Offset: off, Length: vmtest.CBTBlock})
	}
	start = time.Now()
	inc, parent2 := backupVM(t, e, r, Options{VM: "vm-p", Parent: parent})
	incTime := time.Since(start)
	var cbt int64
	for _, d := range inc.Details.Disks {
		cbt += d.ChangedBytes
		if d.Mode != "incremental" {
			t.Errorf("disk %d mode %s: %s", d.Key, d.Mode, d.Fallback)
		}
	}
	t.Logf("1%% of blocks changed: full read %d bytes in %v; incremental CBT %d bytes, read %d bytes in %v",
		full.BytesRead, fullTime.Round(time.Millisecond), cbt, inc.BytesRead, incTime.Round(time.Millisecond))
	checkRestore(t, r, parent2, disks)
}
