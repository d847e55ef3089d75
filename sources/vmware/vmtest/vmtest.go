// Package vmtest runs govmomi's vCenter simulator (vcsim) in the test
// process, with the CBT extension in cbt.go, VMs with real flat disk
// files, and a hook that slows datastore reads down. It serves the tests
// of sources/vmware and the end-to-end tests of cmd/cairn; nothing else
// may import it.
package vmtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Env is a running simulator (VPX model, no VMs of its own) with the CBT
// extension; it is stopped and its datastore removed when the test ends.
type Env struct {
	t      testing.TB
	Model  *simulator.Model
	Server *simulator.Server
	CBT    *CBT
	// Client is the test's own (admin) connection.
	Client *vim25.Client
	// DSDir is the local directory of the datastore the VMs are on.
	DSDir string

	delay      atomic.Int64 // nanoseconds per ranged /folder GET
	rangeReads atomic.Int64
	putDelay   atomic.Int64 // nanoseconds per 64 KiB of a /folder PUT
	putBytes   atomic.Int64
}

// Start starts a simulator for the test.
func Start(t testing.TB) *Env {
	t.Helper()
	m := simulator.VPX()
	m.Machine = 0
	m.Autostart = false
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	e := &Env{t: t, Model: m, CBT: NewCBT()}
	e.CBT.Install(m)
	// Ranged GETs (disk reads) go through slowGet; NewServer then adds
	// the simulator's own, less specific, "/folder/" pattern.
	m.Service.ServeMux = http.NewServeMux()
	m.Service.ServeMux.HandleFunc("GET /folder/", e.slowGet)
	m.Service.ServeMux.HandleFunc("PUT /folder/", e.slowPut)
	e.Server = m.Service.NewServer()
	t.Cleanup(func() { e.Server.Close(); m.Remove() })
	c, err := govmomi.NewClient(context.Background(), e.Server.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	e.Client = c.Client
	ds := m.Map().Any("Datastore").(*simulator.Datastore)
	e.DSDir = ds.Info.GetDatastoreInfo().Url
	return e
}

// slowGet serves a datastore GET, after the SlowReads delay when it reads
// a range of a file.
func (e *Env) slowGet(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Range") != "" {
		e.rangeReads.Add(1)
		if d := time.Duration(e.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	e.Model.Service.ServeDatastore(w, r)
}

// slowPut serves a datastore PUT (an upload), reading the body at the
// SlowWrites pace.
func (e *Env) slowPut(w http.ResponseWriter, r *http.Request) {
	r.Body = &slowBody{ReadCloser: r.Body, e: e}
	e.Model.Service.ServeDatastore(w, r)
}

// slowBody delays every read of an upload's body by the SlowWrites delay
// and counts the bytes.
type slowBody struct {
	io.ReadCloser
	e *Env
}

func (b *slowBody) Read(p []byte) (int, error) {
	if d := time.Duration(b.e.putDelay.Load()); d > 0 {
		time.Sleep(d)
		p = p[:min(len(p), 64<<10)]
	}
	n, err := b.ReadCloser.Read(p)
	b.e.putBytes.Add(int64(n))
	return n, err
}

// SlowWrites delays every 64 KiB of a datastore upload by d; 0 turns the
// delay off.
func (e *Env) SlowWrites(d time.Duration) { e.putDelay.Store(int64(d)) }

// UploadedBytes returns how many bytes of datastore uploads arrived.
func (e *Env) UploadedBytes() int64 { return e.putBytes.Load() }

// SlowReads delays every ranged datastore GET (a disk read) by d; 0
// turns the delay off.
func (e *Env) SlowReads(d time.Duration) { e.delay.Store(int64(d)) }

// RangeReads returns how many ranged datastore GETs arrived so far.
func (e *Env) RangeReads() int64 { return e.rangeReads.Load() }

// URL returns the simulator's SDK URL without credentials.
func (e *Env) URL() string {
	u := *e.Server.URL
	u.User = nil
	return u.String()
}

// User returns the simulator's user name.
func (e *Env) User() string { return e.Server.URL.User.Username() }

// Password returns the simulator's password.
func (e *Env) Password() string {
	pw, _ := e.Server.URL.User.Password()
	return pw
}

// MakeVM creates a powered-off VM with disks of the given sizes, their
// flat files sized (sparse) to capacity, and fixture .vmx and .nvram files
// (the simulator's own .vmx is empty).
func (e *Env) MakeVM(name string, sizes ...int64) (types.ManagedObjectReference, []DiskFile) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	finder := find.NewFinder(e.Client)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pools, err := finder.ResourcePoolList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := finder.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, scsi)
	for i, size := range sizes {
		disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(),
			fmt.Sprintf("[%s] %s/disk%d.vmdk", ds.Name(), name, i+1))
		disk.CapacityInKB = size / 1024
		devices = append(devices, disk)
	}
	spec := types.VirtualMachineConfigSpec{Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"}}
	if spec.DeviceChange, err = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd); err != nil {
		t.Fatal(err)
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pools[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := info.Result.(types.ManagedObjectReference)
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(e.Client).RetrieveOne(ctx, ref, []string{"config"}, &vm); err != nil {
		t.Fatal(err)
	}
	var out []DiskFile
	for _, dev := range vm.Config.Hardware.Device {
		d, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		var p object.DatastorePath
		p.FromString(b.FileName)
		flat := filepath.Join(e.DSDir, strings.Replace(p.Path, ".vmdk", "-flat.vmdk", 1))
		if err := os.Truncate(flat, d.CapacityInBytes); err != nil {
			t.Fatal(err)
		}
		out = append(out, DiskFile{Key: d.Key, UUID: b.Uuid, Flat: flat, Capacity: d.CapacityInBytes})
	}
	if len(out) != len(sizes) {
		t.Fatalf("VM has %d disks, want %d", len(out), len(sizes))
	}
	var vmx object.DatastorePath
	vmx.FromString(vm.Config.Files.VmPathName)
	vmxPath := filepath.Join(e.DSDir, vmx.Path)
	fixture := fmt.Sprintf(".encoding = \"UTF-8\"\nconfig.version = \"8\"\ndisplayName = %q\nscsi0:0.fileName = \"disk1.vmdk\"\nctkEnabled = \"TRUE\"\n", name)
	if err := os.WriteFile(vmxPath, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	nvram := strings.TrimSuffix(vmxPath, ".vmx") + ".nvram"
	if err := os.WriteFile(nvram, RandBytes(99, 8684), 0o600); err != nil {
		t.Fatal(err)
	}
	return ref, out
}

// Snapshots lists the VM's snapshot names.
func (e *Env) Snapshots(vm types.ManagedObjectReference) []string {
	e.t.Helper()
	var m mo.VirtualMachine
	if err := property.DefaultCollector(e.Client).RetrieveOne(context.Background(), vm, []string{"snapshot"}, &m); err != nil {
		e.t.Fatal(err)
	}
	var names []string
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(l []types.VirtualMachineSnapshotTree) {
		for _, s := range l {
			names = append(names, s.Name)
			walk(s.ChildSnapshotList)
		}
	}
	if m.Snapshot != nil {
		walk(m.Snapshot.RootSnapshotList)
	}
	return names
}

// RandBytes returns n pseudo-random bytes from seed.
func RandBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}
