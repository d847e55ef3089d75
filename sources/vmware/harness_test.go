package vmware

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"cairn/chunker"
	"cairn/repo"
	"cairn/repo/backend/mem"
)

const mib = 1 << 20

// simEnv is a running simulator with the CBT extension.
type simEnv struct {
	t     *testing.T
	model *simulator.Model
	srv   *simulator.Server
	sim   *cbtSim
	vc    *vim25.Client // the test's own (admin) connection
	dsDir string        // local directory of datastore LocalDS_0
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	m := simulator.VPX()
	m.Machine = 0
	m.Autostart = false
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	sim := newCBTSim()
	sim.install(m)
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	e := &simEnv{t: t, model: m, srv: srv, sim: sim}
	ctx := context.Background()
	c, err := Connect(ctx, e.config())
	if err != nil {
		t.Fatal(err)
	}
	e.vc = c.vim
	ds := m.Map().Any("Datastore").(*simulator.Datastore)
	e.dsDir = ds.Info.GetDatastoreInfo().Url
	return e
}

// config returns connection settings for the simulator.
func (e *simEnv) config() Config {
	pw, _ := e.srv.URL.User.Password()
	return Config{URL: e.srv.URL.String(), User: e.srv.URL.User.Username(), Password: pw, Insecure: true}
}

// connect opens a client for a backup.
func (e *simEnv) connect() *Client {
	e.t.Helper()
	c, err := Connect(context.Background(), e.config())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

// makeVM creates a powered-off VM with disks of the given sizes, their
// flat files sized (sparse) to capacity, and fixture .vmx and .nvram files
// (the simulator's own .vmx is empty).
func (e *simEnv) makeVM(name string, sizes ...int64) (types.ManagedObjectReference, []simDiskFile) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	finder := find.NewFinder(e.vc)
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
	pool := pools[0]
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
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := info.Result.(types.ManagedObjectReference)
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(e.vc).RetrieveOne(ctx, ref, []string{"config"}, &vm); err != nil {
		t.Fatal(err)
	}
	var out []simDiskFile
	for _, dev := range vm.Config.Hardware.Device {
		d, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		var p object.DatastorePath
		p.FromString(b.FileName)
		flat := filepath.Join(e.dsDir, strings.Replace(p.Path, ".vmdk", "-flat.vmdk", 1))
		if err := os.Truncate(flat, d.CapacityInBytes); err != nil {
			t.Fatal(err)
		}
		out = append(out, simDiskFile{key: d.Key, uuid: b.Uuid, flat: flat, capacity: d.CapacityInBytes})
	}
	if len(out) != len(sizes) {
		t.Fatalf("VM has %d disks, want %d", len(out), len(sizes))
	}
	var vmx object.DatastorePath
	vmx.FromString(vm.Config.Files.VmPathName)
	vmxPath := filepath.Join(e.dsDir, vmx.Path)
	fixture := fmt.Sprintf(".encoding = \"UTF-8\"\nconfig.version = \"8\"\ndisplayName = %q\nscsi0:0.fileName = \"disk1.vmdk\"\nctkEnabled = \"TRUE\"\n", name)
	if err := os.WriteFile(vmxPath, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	nvram := strings.TrimSuffix(vmxPath, ".vmx") + ".nvram"
	if err := os.WriteFile(nvram, randBytes(99, 8684), 0o600); err != nil {
		t.Fatal(err)
	}
	return ref, out
}

// snapshots lists the VM's snapshot names.
func (e *simEnv) snapshots(vm types.ManagedObjectReference) []string {
	e.t.Helper()
	var m mo.VirtualMachine
	if err := property.DefaultCollector(e.vc).RetrieveOne(context.Background(), vm, []string{"snapshot"}, &m); err != nil {
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

// newTestRepo returns a real repository on the in-memory backend with a
// fixed chunker polynomial, so that measured bounds are reproducible.
func newTestRepo(t *testing.T) *repo.Repository {
	t.Helper()
	opts := repo.Options{CacheDir: t.TempDir(), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}
	p := chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
	r, err := repo.Init(context.Background(), mem.New(), "secret",
		repo.InitOptions{Options: opts, PackSize: 8 << 20, Chunker: &p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// randBytes returns n pseudo-random bytes from seed.
func randBytes(seed uint64, n int) []byte {
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

// faultyRT wraps the client's HTTP transport: datastore reads can be
// failed or slowed.
type faultyRT struct {
	base  http.RoundTripper
	fail  atomic.Bool
	delay atomic.Int64 // nanoseconds per /folder request
	reqs  atomic.Int64
}

func (f *faultyRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, "/folder/") && req.Header.Get("Range") != "" {
		f.reqs.Add(1)
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		if f.fail.Load() {
			return &http.Response{StatusCode: 500, Status: "500 injected", Body: http.NoBody, Request: req, Header: http.Header{}}, nil
		}
	}
	return f.base.RoundTrip(req)
}

// injectFaults installs a faultyRT on c's HTTP client.
func injectFaults(c *Client) *faultyRT {
	hc := &c.vim.Client.Client
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	f := &faultyRT{base: base}
	hc.Transport = f
	return f
}

var _ soap.RoundTripper = (*vim25.Client)(nil)
