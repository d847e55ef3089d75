package vmware

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vmdk"

	"cairn/sources/vmware/vmtest"
)

func TestRestoreToDatastore(t *testing.T) {
	e := newSimEnv(t)
	r := newTestRepo(t)
	_, disks := e.MakeVM("vm-u", 16*mib)
	e.CBT.Write(t, disks[0], 0, vmtest.RandBytes(7, 5*mib))
	e.CBT.Write(t, disks[0], 9*mib, vmtest.RandBytes(8, 1*mib+300))
	_, parent := backupVM(t, e, r, Options{VM: "vm-u"})
	ctx := context.Background()
	c := e.connect()
	want, err := os.ReadFile(disks[0].Flat)
	if err != nil {
		t.Fatal(err)
	}

	var progress int64
	d, up, err := RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0",
		DatastoreTarget{Tag: "abc123", Progress: func(n int64) { progress = n }})
	if err != nil {
		t.Fatal(err)
	}
	ds := parent.Details.Disks[0].Datastore
	if up.Descriptor != "["+ds+"] vm-u/disk1-restored-abc123.vmdk" || up.Flat != "["+ds+"] vm-u/disk1-restored-abc123-flat.vmdk" {
		t.Fatalf("uploaded to %+v", up)
	}
	if d.Key != disks[0].Key || up.Size != 16*mib || progress != up.Size || up.Generated {
		t.Fatalf("disk %+v, upload %+v, progress %d", d, up, progress)
	}
	checkUploaded(t, filepath.Join(e.DSDir, "vm-u"), "disk1-restored-abc123", want)

	// An existing target is refused without Force, and nothing changes.
	descFile := filepath.Join(e.DSDir, "vm-u", "disk1-restored-abc123.vmdk")
	before, _ := os.ReadFile(descFile)
	_, _, err = RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0", DatastoreTarget{Tag: "abc123"})
	if !errors.Is(err, ErrTargetExists) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("existing target: %v", err)
	}
	if after, _ := os.ReadFile(descFile); !bytes.Equal(before, after) {
		t.Fatal("refused restore changed the descriptor")
	}
	if _, _, err = RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0",
		DatastoreTarget{Tag: "abc123", Force: true}); err != nil {
		t.Fatalf("--force: %v", err)
	}
	checkUploaded(t, filepath.Join(e.DSDir, "vm-u"), "disk1-restored-abc123", want)

	// An explicit path in a new directory.
	if _, _, err = RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "key="+strconv.Itoa(int(disks[0].Key)),
		DatastoreTarget{Datastore: ds, Path: "restored/web.vmdk"}); err != nil {
		t.Fatal(err)
	}
	checkUploaded(t, filepath.Join(e.DSDir, "restored"), "web", want)
	desc, _ := os.ReadFile(filepath.Join(e.DSDir, "restored", "web.vmdk"))
	t.Logf("descriptor written:\n%s", desc)
	if err := os.WriteFile(filepath.Join(e.DSDir, "restored", "only-flat.vmdk"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err = RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0",
		DatastoreTarget{Path: "restored/only.vmdk"}); !errors.Is(err, ErrTargetExists) {
		t.Fatalf("existing flat file: %v", err)
	}
	for _, p := range []string{"../x.vmdk", "x-flat.vmdk", "x.img", "[ds] x.vmdk"} {
		if _, _, err := RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0", DatastoreTarget{Path: p}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	if _, _, err := RestoreToDatastore(ctx, c, r, parent.Root, parent.Details, "0", DatastoreTarget{Datastore: "nope"}); err == nil {
		t.Error("unknown datastore accepted")
	}

	// Cancelled mid-upload: the error says so and no partial flat file
	// (which would look like a disk) is left.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err = RestoreToDatastore(cctx, c, r, parent.Root, parent.Details, "0",
		DatastoreTarget{Path: "cancelled/c.vmdk", Progress: func(n int64) {
			if n > 2*mib {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled upload: %v", err)
	}
	for _, f := range []string{"c-flat.vmdk", "c.vmdk"} {
		if _, err := os.Stat(filepath.Join(e.DSDir, "cancelled", f)); !os.IsNotExist(err) {
			t.Errorf("cancelled upload left %s (%v)", f, err)
		}
	}
}

// checkUploaded compares the uploaded flat file with want and checks the
// descriptor's one extent line points at it with the right size.
func checkUploaded(t *testing.T, dir, name string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, name+"-flat.vmdk"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("uploaded flat file differs from the original disk (%d vs %d bytes)", len(got), len(want))
	}
	desc, err := os.ReadFile(filepath.Join(dir, name+".vmdk"))
	if err != nil {
		t.Fatal(err)
	}
	line := "RW " + strconv.Itoa(len(want)/512) + " VMFS \"" + name + "-flat.vmdk\""
	if !strings.Contains(string(desc), "\n"+line+"\n") {
		t.Fatalf("descriptor has no extent line %q:\n%s", line, desc)
	}
	d, err := vmdk.ParseDescriptor(bytes.NewReader(desc))
	if err != nil || len(d.Extent) != 1 || d.Capacity() != int64(len(want)) || d.ParentCID != 0xffffffff {
		t.Fatalf("descriptor %+v (%v)", d, err)
	}
	if strings.Contains(string(desc), "changeTrackPath") {
		t.Fatalf("descriptor keeps the original's change tracking file:\n%s", desc)
	}
}

// TestRestoredDescriptor rewrites a descriptor as vSphere writes it and
// generates one when the snapshot has none.
func TestRestoredDescriptor(t *testing.T) {
	saved := `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fb183c20
parentCID=ffffffff
createType="vmfs"
changeTrackPath="web01-ctk.vmdk"

# Extent description
RW 83886080 VMFS "web01-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "5221"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "8a4bbbf3f8c4d1a2e8e13fa1fb183c20"
ddb.thinProvisioned = "1"
ddb.uuid = "60 00 C2 9b 6b 4e 27 3e-5e 10 0a 1f 7c 5a 03 29"
ddb.virtualHWVersion = "19"
`
	out, err := restoredDescriptor([]byte(saved), "web01-restored-1-flat.vmdk", 40<<30)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"\nRW 83886080 VMFS \"web01-restored-1-flat.vmdk\"\n", "ddb.adapterType = \"lsilogic\"",
		"ddb.thinProvisioned = \"1\"", "ddb.virtualHWVersion = \"19\"", "parentCID=ffffffff"} {
		if !strings.Contains(s, want) {
			t.Errorf("descriptor lacks %q:\n%s", want, s)
		}
	}
	for _, gone := range []string{"web01-ctk.vmdk", "CID=fb183c20", "60 00 C2 9b 6b 4e 27 3e", "longContentID", "\"web01-flat.vmdk\""} {
		if strings.Contains(s, gone) {
			t.Errorf("descriptor keeps %q of the original:\n%s", gone, s)
		}
	}
	if _, err := restoredDescriptor([]byte("RW 1 VMFS \"a\"\nRW 1 VMFS \"b\"\n"), "x-flat.vmdk", 1024); err == nil {
		t.Error("two extents accepted")
	}
	gen, err := restoredDescriptor(nil, "x-flat.vmdk", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vmdk.ParseDescriptor(bytes.NewReader(gen))
	if err != nil || d.Capacity() != 1<<30 || d.DDB["adapterType"] == "" || d.DDB["geometry.cylinders"] != "130" || d.Extent[0].Info != "x-flat.vmdk" {
		t.Fatalf("generated descriptor %+v (%v):\n%s", d, err, gen)
	}
}

// BenchmarkRestoreToDatastore uploads a 64 MiB disk (48 MiB written) to
// the simulator's datastore: repository read, HTTP PUT over loopback and
// the simulator's file write.
func BenchmarkRestoreToDatastore(b *testing.B) {
	e := newSimEnv(b)
	r := newTestRepo(b)
	_, disks := e.MakeVM("vm-b", 64*mib)
	e.CBT.Write(b, disks[0], 0, vmtest.RandBytes(3, 48*mib))
	_, parent := backupVM(b, e, r, Options{VM: "vm-b"})
	c := e.connect()
	b.SetBytes(64 * mib)
	for i := 0; b.Loop(); i++ {
		if _, _, err := RestoreToDatastore(context.Background(), c, r, parent.Root, parent.Details, "0",
			DatastoreTarget{Tag: strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
}
