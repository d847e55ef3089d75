package vmware

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"

	"cairn/repo"
	"cairn/sources/blockdev"

	"cairn/sources/vmware/vmtest"
)

// backupVM runs a backup like the CLI does (flush, save the snapshot,
// reload it) and returns the result and the parent for the next run.
func backupVM(t testing.TB, e *simEnv, r *repo.Repository, opts Options) (*Result, *Parent) {
	t.Helper()
	res, parent, err := tryBackupVM(e, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, parent
}

func tryBackupVM(e *simEnv, r *repo.Repository, opts Options) (*Result, *Parent, error) {
	ctx := context.Background()
	opts.Chunker = r.ChunkerParams()
	if opts.Log == nil {
		opts.Log = func(msg string) { e.t.Log("backup: " + msg) }
	}
	res, err := Backup(ctx, e.connect(), r, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := r.Flush(ctx); err != nil {
		return nil, nil, err
	}
	sn := repo.NewSnapshot(time.Now(), repo.KindVM, []string{"/vsphere/" + res.Details.VCenter + "/" + res.Details.VM})
	sn.Tree, sn.Source = res.Root, res.Details
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		return nil, nil, err
	}
	loaded, err := r.LoadSnapshot(ctx, sn.ID)
	if err != nil {
		return nil, nil, err
	}
	det, err := DetailsOf(loaded.Source)
	if err != nil {
		return nil, nil, err
	}
	return res, &Parent{Root: loaded.Tree, Details: det}, nil
}

// checkRestore restores every disk and compares it with the flat file.
func checkRestore(t *testing.T, r *repo.Repository, p *Parent, disks []vmtest.DiskFile) {
	t.Helper()
	for i, d := range disks {
		dst := filepath.Join(t.TempDir(), "disk.img")
		dd, _, err := RestoreDisk(context.Background(), r, p.Root, p.Details, string(rune('0'+i)), dst, blockdev.RestoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if dd.Key != d.Key {
			t.Fatalf("disk %d restored key %d, want %d", i, dd.Key, d.Key)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(d.Flat)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("disk %d: restored image differs from the datastore's flat file", i)
		}
	}
}

// TestSimulatorCanary fails loudly when a govmomi upgrade changes what the
// CBT extension relies on: the simulator still lacks the method (or not),
// and the session-registry wrapper answers it.
func TestSimulatorCanary(t *testing.T) {
	e := newSimEnv(t)
	vm, disks := e.MakeVM("canary", 4*mib)
	ctx := context.Background()
	task, err := object.NewVirtualMachine(e.Client, vm).Reconfigure(ctx, types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(true)})
	if err != nil || task.Wait(ctx) != nil {
		t.Fatalf("enable CBT: %v", err)
	}
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(1, 100))
	task, err = object.NewVirtualMachine(e.Client, vm).CreateSnapshot(ctx, "s", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := info.Result.(types.ManagedObjectReference)
	c := e.connect()
	cfg, err := c.snapshotConfig(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	vd, err := disksOf(cfg)
	if err != nil || len(vd) != 1 || !strings.HasPrefix(vd[0].changeID, disks[0].UUID) {
		t.Fatalf("CANARY: snapshot disk changeId not stamped by the extension (%v, %+v): the simulator's snapshot creation changed", err, vd)
	}
	res, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
		This: vm, Snapshot: &snap, DeviceKey: disks[0].Key, ChangeId: "*"})
	if err != nil {
		t.Fatalf("CANARY: QueryChangedDiskAreas through the extension failed: %v (the simulator's dispatch order changed)", err)
	}
	if a := res.Returnval.ChangedArea; len(a) != 1 || a[0].Start != 0 || a[0].Length != vmtest.CBTBlock {
		t.Fatalf("CANARY: unexpected areas %+v", a)
	}
	if e.CBT.Wrapped() != 1 {
		t.Fatalf("CANARY: wrapper answered %d calls, want 1", e.CBT.Wrapped())
	}
	// Without the handler the simulator must still lack the method; if it
	// grows one, the extension may be shadowing a real implementation.
	e.Model.Map().Handler = nil
	if _, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
		This: vm, Snapshot: &snap, DeviceKey: disks[0].Key, ChangeId: "*"}); err == nil {
		t.Fatal("CANARY: the simulator now implements QueryChangedDiskAreas: revisit the test extension")
	}
}
