package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestBackupBlockCLI(t *testing.T) {
	tr := newTestRepo(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	data := make([]byte, 12<<20)
	for i := range 6 << 20 {
		data[i] = byte(i*7 + i>>12)
	}
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	full := parseSummary(t, tr.mustRun("backup-block", "--json", img))
	if full.TotalBytes != int64(len(data)) {
		t.Fatalf("summary %+v", full)
	}
	// Change 4 KiB and say so in an extent list.
	copy(data[3<<20:], bytes.Repeat([]byte{0xAB}, 4096))
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(t.TempDir(), "extents")
	if err := os.WriteFile(ext, []byte(fmt.Sprintf("# dirty bitmap\n%d,4096\n", 3<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := tr.mustRun("backup-block", "--changed-extents", ext, img)
	if !strings.Contains(out, "incremental") || !strings.Contains(out, "using parent snapshot") {
		t.Fatalf("incremental not reported: %s", out)
	}
	dst := filepath.Join(t.TempDir(), "restored.img")
	tr.mustRun("restore-block", "latest", "--to", dst)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored image differs (%v)", err)
	}
	tr.mustRun("check", "--read-data")
}

// cliVM starts a simulator with one small VM and returns its URL (without
// credentials), the user and password, and the VM's flat disk file.
func cliVM(t *testing.T) (string, string, string, string, func() []string) {
	t.Helper()
	m := simulator.VPX()
	m.Machine, m.Autostart = 0, false
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	finder := find.NewFinder(c.Client)
	dc, _ := finder.DefaultDatacenter(ctx)
	finder.SetDatacenter(dc)
	folders, _ := dc.Folders(ctx)
	pools, _ := finder.ResourcePoolList(ctx, "*")
	ds, _ := finder.DefaultDatastore(ctx)
	var devices object.VirtualDeviceList
	scsi, _ := devices.CreateSCSIController("pvscsi")
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(), "["+ds.Name()+"] web01/disk1.vmdk")
	disk.CapacityInKB = 8 << 10
	devices = append(devices, disk)
	spec := types.VirtualMachineConfigSpec{Name: "web01", GuestId: "otherGuest", Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"}}
	spec.DeviceChange, _ = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	task, err := folders.VmFolder.CreateVM(ctx, spec, pools[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := info.Result.(types.ManagedObjectReference)
	dir := m.Map().Any("Datastore").(*simulator.Datastore).Info.GetDatastoreInfo().Url
	flat := filepath.Join(dir, "web01", "disk1-flat.vmdk")
	content := make([]byte, 8<<20)
	for i := range 3 << 20 {
		content[i] = byte(i ^ i>>9)
	}
	if err := os.WriteFile(flat, content, 0o600); err != nil {
		t.Fatal(err)
	}
	snapshots := func() []string {
		var mvm mo.VirtualMachine
		if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, vm, []string{"snapshot"}, &mvm); err != nil {
			t.Fatal(err)
		}
		var names []string
		if mvm.Snapshot != nil {
			for _, s := range mvm.Snapshot.RootSnapshotList {
				names = append(names, s.Name)
			}
		}
		return names
	}
	u := *srv.URL
	pw, _ := u.User.Password()
	user := u.User.Username()
	u.User = nil
	return u.String(), user, pw, flat, snapshots
}

func TestBackupVMCLI(t *testing.T) {
	tr := newTestRepo(t)
	url, user, pw, flat, snapshots := cliVM(t)
	creds := []string{"CAIRN_VSPHERE_USER=" + user, "CAIRN_VSPHERE_PASSWORD=" + pw}

	r := tr.runEnv(creds, "backup-vm", "--json", "--vcenter", url, "--insecure", "--vm", "web01")
	if r.code != 0 {
		t.Fatalf("backup-vm: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	s := parseSummary(t, r.stdout)
	if !strings.Contains(r.stderr, "enabled") {
		t.Errorf("CBT enabling not reported on stderr: %s", r.stderr)
	}
	if got := snapshots(); len(got) != 0 {
		t.Fatalf("VM snapshots left: %v", got)
	}
	// The simulator has no CBT: the second run falls back and says so.
	r = tr.runEnv(creds, "backup-vm", "--vcenter", url, "--insecure", "--vm", "web01")
	if r.code != 0 || !strings.Contains(r.stdout, "using parent snapshot") || !strings.Contains(r.stderr, "full read") {
		t.Fatalf("second backup-vm: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	meta := tr.mustRun("cat", "snapshot", s.SnapshotID)
	if strings.Contains(meta, pw) || !strings.Contains(meta, "web01") || !strings.Contains(meta, "datastore_ref") {
		t.Fatalf("snapshot metadata: %s", meta)
	}
	dst := filepath.Join(t.TempDir(), "disk0.img")
	tr.mustRun("restore-vm", s.SnapshotID, "--disk", "0", "--to", dst)
	got, _ := os.ReadFile(dst)
	want, _ := os.ReadFile(flat)
	if !bytes.Equal(got, want) {
		t.Fatal("restored disk differs from the flat file")
	}
	tr.mustRun("check", "--read-data")

	// Upload the disk back to its datastore, next to the original.
	dir := filepath.Dir(flat)
	r = tr.runEnv(creds, "restore-vm", s.SnapshotID, "--disk", "0", "--to-datastore", "--vcenter", url, "--insecure")
	if r.code != 0 {
		t.Fatalf("restore-vm --to-datastore: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	name := "disk1-restored-" + s.SnapshotID[:8]
	if !strings.Contains(r.stdout, "web01/"+name+".vmdk") {
		t.Errorf("output does not name the descriptor: %s", r.stdout)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, name+"-flat.vmdk")); !bytes.Equal(got, want) {
		t.Fatal("uploaded flat file differs from the original disk")
	}
	desc, _ := os.ReadFile(filepath.Join(dir, name+".vmdk"))
	if !strings.Contains(string(desc), fmt.Sprintf("RW %d VMFS %q", len(want)/512, name+"-flat.vmdk")) {
		t.Fatalf("descriptor's extent line:\n%s", desc)
	}
	// The same target again is refused, then overwritten with --force.
	r = tr.runEnv(creds, "restore-vm", s.SnapshotID, "--to-datastore", "--vcenter", url, "--insecure")
	if r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("existing target: exit %d\n%s", r.code, r.stderr)
	}
	r = tr.runEnv(creds, "restore-vm", s.SnapshotID, "--to-datastore", "--force", "--json", "--vcenter", url, "--insecure",
		"--datastore-path", "web01/"+name+".vmdk")
	if r.code != 0 || !strings.Contains(r.stdout, `"flat":`) {
		t.Fatalf("--force: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := tr.runEnv(creds, "restore-vm", s.SnapshotID, "--to", dst, "--to-datastore"); r.code == 0 {
		t.Error("--to with --to-datastore accepted")
	}

	// Credentials in argv are refused; a wrong password fails cleanly.
	withCreds := strings.Replace(url, "://", "://"+user+":"+pw+"@", 1)
	if r := tr.runEnv(nil, "backup-vm", "--vcenter", withCreds, "--vm", "web01"); r.code == 0 || !strings.Contains(r.stderr, "must not hold credentials") {
		t.Errorf("credentials in --vcenter accepted: %d %s", r.code, r.stderr)
	}
	if r := tr.runEnv(nil, "backup-vm", "--vcenter", url, "--vm", "web01"); r.code == 0 {
		t.Errorf("backup-vm without credentials succeeded")
	}
}
