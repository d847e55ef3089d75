package vmware

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"cairn/repo"

	"cairn/sources/vmware/vmtest"
)

// smallVM makes a VM with one 16 MiB disk holding some data, backs it up
// fully and returns what an incremental needs.
func smallVM(t *testing.T, name string) (*simEnv, types.ManagedObjectReference, []vmtest.DiskFile, *Parent, *testRepoT) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	vm, disks := e.MakeVM(name, 16*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(7, 6*mib))
	_, parent := backupVM(t, e, r, Options{VM: name})
	e.CBT.Write(t, disks[0], 1*mib, vmtest.RandBytes(8, 4096))
	return e, vm, disks, parent, r
}

// wantFallback runs an incremental and checks that it read the disk fully
// and said why.
func wantFallback(t *testing.T, e *simEnv, r *testRepoT, name string, parent *Parent, disks []vmtest.DiskFile, reason string) {
	t.Helper()
	var notes []string
	res, p2 := backupVM(t, e, r, Options{VM: name, Parent: parent, Log: func(m string) { notes = append(notes, m) }})
	d := res.Details.Disks[0]
	if d.Mode != "full" || !strings.Contains(d.Fallback, reason) {
		t.Fatalf("disk mode %s fallback %q, want a full read because %q", d.Mode, d.Fallback, reason)
	}
	if !strings.Contains(strings.Join(notes, "\n"), reason) || !strings.Contains(strings.Join(res.Details.Notes, "\n"), reason) {
		t.Errorf("fallback not reported: notes %q", notes)
	}
	if res.BytesRead < 6*mib {
		t.Errorf("fallback read only %d bytes", res.BytesRead)
	}
	checkRestore(t, r, p2, disks)
}

func TestFallbackNoParentChangeID(t *testing.T) {
	e, _, disks, parent, r := smallVM(t, "fb1")
	parent.Details.Disks[0].ChangeID = ""
	wantFallback(t, e, r, "fb1", parent, disks, "parent has no changeId")
}

func TestFallbackChangeIDReset(t *testing.T) {
	e, _, disks, parent, r := smallVM(t, "fb2")
	e.CBT.Reset(disks[0].UUID)
	wantFallback(t, e, r, "fb2", parent, disks, "changeId reset")
}

func TestFallbackQueryFault(t *testing.T) {
	e, _, disks, parent, r := smallVM(t, "fb3")
	e.CBT.SetFailQuery(true)
	wantFallback(t, e, r, "fb3", parent, disks, "CBT query against the parent's changeId failed")
}

func TestFallbackCapacityChanged(t *testing.T) {
	e, vm, disks, parent, r := smallVM(t, "fb4")
	ctx := context.Background()
	var m mo.VirtualMachine
	if err := property.DefaultCollector(e.Client).RetrieveOne(ctx, vm, []string{"config"}, &m); err != nil {
		t.Fatal(err)
	}
	for _, dev := range m.Config.Hardware.Device {
		if d, ok := dev.(*types.VirtualDisk); ok {
			d.CapacityInKB, d.CapacityInBytes = 24*1024, 24*mib
			task, err := object.NewVirtualMachine(e.Client, vm).Reconfigure(ctx, types.VirtualMachineConfigSpec{
				DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
					Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d}}})
			if err != nil || task.Wait(ctx) != nil {
				t.Fatalf("grow disk: %v", err)
			}
		}
	}
	if err := os.Truncate(disks[0].Flat, 24*mib); err != nil {
		t.Fatal(err)
	}
	disks[0].Capacity = 24 * mib
	wantFallback(t, e, r, "fb4", parent, disks, "capacity changed")
}

func TestFallbackDatastoreAndBacking(t *testing.T) {
	// The simulator cannot relocate a disk; a parent recorded on another
	// datastore, or with another backing file, is what such a move looks
	// like to the next run.
	e, _, disks, parent, r := smallVM(t, "fb5")
	parent.Details.Disks[0].Datastore, parent.Details.Disks[0].DSMoref = "OtherDS", "datastore-99"
	wantFallback(t, e, r, "fb5", parent, disks, "disk moved from datastore OtherDS")
	_, parent2 := backupVM(t, e, r, Options{VM: "fb5"})
	parent2.Details.Disks[0].Backing = "[LocalDS_0] fb5/old.vmdk"
	wantFallback(t, e, r, "fb5", parent2, disks, "backing file changed")
}

// testRepoT is the repository type the tests use.
type testRepoT = repo.Repository

func TestSnapshotRemovedOnHTTPErrors(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	vm, disks := e.MakeVM("err1", 16*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(1, 4*mib))
	c := e.connect()
	f := injectFaults(c)
	f.fail.Store(true)
	_, err := Backup(context.Background(), c, r, Options{VM: "err1", Chunker: r.ChunkerParams(),
		retry: &retryPolicy{Attempts: 3, Backoff: time.Millisecond}})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("backup with HTTP 500s: err %v", err)
	}
	if f.reqs.Load() < 3 {
		t.Errorf("%d requests: retries missing", f.reqs.Load())
	}
	if got := e.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left after an error: %v", got)
	}
}

func TestSnapshotRemovedOnCancelAndTimeout(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	vm, disks := e.MakeVM("err2", 16*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(1, 8*mib))

	ctx, cancel := context.WithCancel(context.Background())
	_, err := Backup(ctx, e.connect(), r, Options{VM: "err2", Chunker: r.ChunkerParams(), afterSnapshot: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup: err %v", err)
	}
	if got := e.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left after cancellation: %v", got)
	}

	c := e.connect()
	// Every datastore read stalls past the deadline, so the timeout hits
	// mid-read however few requests the full read needs.
	injectFaults(c).delay.Store(int64(10 * time.Second))
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Backup(ctx, c, r, Options{VM: "err2", Chunker: r.ChunkerParams()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out backup: err %v", err)
	}
	if got := e.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left after timeout: %v", got)
	}
}

func TestLeftoverSnapshotRemoved(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	vm, disks := e.MakeVM("left", 16*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(1, 1*mib))
	ctx := context.Background()
	// A killed run leaves its snapshot behind; a user's snapshot stays.
	for _, s := range [][2]string{{SnapshotName, snapshotDescPrefix + "crashed"}, {"user-snap", "keep me"}} {
		task, err := object.NewVirtualMachine(e.Client, vm).CreateSnapshot(ctx, s[0], s[1], false, false)
		if err != nil || task.Wait(ctx) != nil {
			t.Fatal(err)
		}
	}
	var notes []string
	_, _, err := tryBackupVM(e, r, Options{VM: "left", Log: func(m string) { notes = append(notes, m) }})
	// The user's snapshot would make the next snapshot's disks a delta
	// chain (the simulator makes none): refused before a snapshot is taken,
	// saying why and what to do.
	if !errors.Is(err, ErrVMHasSnapshots) || !strings.Contains(err.Error(), `"user-snap"`) ||
		!strings.Contains(err.Error(), "delete or consolidate") {
		t.Fatalf("VM with a user snapshot: %v", err)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "leftover") {
		t.Errorf("leftover removal not reported: %q", notes)
	}
	if got := e.Snapshots(vm); len(got) != 1 || got[0] != "user-snap" {
		t.Fatalf("snapshots after the refused backup: %v, want only the user's", got)
	}
	var m mo.VirtualMachine
	if err := property.DefaultCollector(e.Client).RetrieveOne(ctx, vm, []string{"config.changeTrackingEnabled"}, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config != nil && m.Config.ChangeTrackingEnabled != nil && *m.Config.ChangeTrackingEnabled {
		t.Error("the refused backup reconfigured the VM (CBT enabled)")
	}
	// Once the user's snapshot is gone, the backup runs.
	task, err := object.NewVirtualMachine(e.Client, vm).RemoveAllSnapshot(ctx, nil)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatal(err)
	}
	if _, _, err := tryBackupVM(e, r, Options{VM: "left"}); err != nil {
		t.Fatal(err)
	}
}

func TestDedupAcrossClonedVMs(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	_, a := e.MakeVM("clone-a", 64*mib, 64*mib)
	_, b := e.MakeVM("clone-b", 64*mib, 64*mib)
	img0, img1 := vmtest.RandBytes(21, 24*mib), vmtest.RandBytes(22, 16*mib)
	for _, d := range [][]vmtest.DiskFile{a, b} {
		e.CBT.Write(t, d[0], 0, img0)
		e.CBT.Write(t, d[1], 8*mib, img1)
	}
	backupVM(t, e, r, Options{VM: "clone-a"})
	before := r.Stats()
	resB, pb := backupVM(t, e, r, Options{VM: "clone-b"})
	after := r.Stats()
	added := after.BytesAddedRaw - before.BytesAddedRaw
	t.Logf("clone-a added %d bytes; clone-b read %d bytes and added %d (%d blobs)",
		before.BytesAddedRaw, resB.BytesRead, added, after.BlobsNew-before.BlobsNew)
	if added > 256<<10 {
		t.Errorf("second clone added %d bytes, want only trees and config files", added)
	}
	checkRestore(t, r, pb, b)
}
