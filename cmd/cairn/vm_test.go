package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"

	"cairn/sources/vmware/vmtest"
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

// cliVM starts a simulator (with CBT) holding one VM, web01, with an
// 8 MiB disk of which the first 3 MiB are written.
func cliVM(t *testing.T) (*vmtest.Env, types.ManagedObjectReference, vmtest.DiskFile) {
	t.Helper()
	env := vmtest.Start(t)
	vm, disks := env.MakeVM("web01", 8<<20)
	content := make([]byte, 3<<20)
	for i := range content {
		content[i] = byte(i ^ i>>9)
	}
	env.CBT.Write(t, disks[0], 0, content)
	return env, vm, disks[0]
}

// vmCreds is the environment that gives the simulator's credentials.
func vmCreds(env *vmtest.Env) []string {
	return []string{"CAIRN_VSPHERE_USER=" + env.User(), "CAIRN_VSPHERE_PASSWORD=" + env.Password()}
}

func TestBackupVMCLI(t *testing.T) {
	tr := newTestRepo(t)
	env, vm, disk := cliVM(t)
	url, user, pw, flat := env.URL(), env.User(), env.Password(), disk.Flat
	creds := vmCreds(env)

	r := tr.runEnv(creds, "backup-vm", "--json", "--vcenter", url, "--insecure", "--vm", "web01")
	if r.code != 0 {
		t.Fatalf("backup-vm: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	s := parseSummary(t, r.stdout)
	if !strings.Contains(r.stderr, "enabled") {
		t.Errorf("CBT enabling not reported on stderr: %s", r.stderr)
	}
	if got := env.Snapshots(vm); len(got) != 0 {
		t.Fatalf("VM snapshots left: %v", got)
	}
	// Nothing changed: the second run is an incremental through CBT.
	r = tr.runEnv(creds, "backup-vm", "--vcenter", url, "--insecure", "--vm", "web01")
	if r.code != 0 || !strings.Contains(r.stdout, "using parent snapshot") || !strings.Contains(r.stdout, "incremental") {
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
