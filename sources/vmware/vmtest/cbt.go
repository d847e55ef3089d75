package vmtest

// The CBT extension of govmomi's simulator (vcsim): what it lacks for
// Changed Block Tracking, disk changeIds on snapshots and
// QueryChangedDiskAreas answered from the extents the test really wrote
// to the flat disk files. It uses the simulator's public API only:
//
//   - a RegisterObject handler (Registry.AddHandler) that sees every
//     VirtualMachineSnapshot put into the registry and stamps its disks'
//     changeIds "<uuid>:<generation>/<epoch>";
//   - a Registry.Handler that, for QueryChangedDiskAreas only, puts a
//     wrapper object with the VM's moref into the calling session's
//     registry, which the simulator consults before the global one, for
//     the duration of the call.
//
// This depends on the simulator's call order (pinned by go.mod's govmomi
// version); sources/vmware's TestSimulatorCanary fails loudly if an
// upgrade breaks it.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CBTBlock is the granularity of the changed areas CBT reports.
const CBTBlock = 64 << 10

// CBT is the extension; one per simulator model. Its settings and
// counters are safe to use while the simulator serves requests.
type CBT struct {
	mu    sync.Mutex
	disks map[string]*simDisk // by disk uuid
	// pageCap, if set, limits the disk range one answer covers, so that
	// clients must page.
	pageCap int64
	// failQuery makes every non-"*" query fault.
	failQuery bool
	queries   int
	// wrapped counts calls answered by the wrapper (canary).
	wrapped int
}

// simDisk is the CBT state of one disk.
type simDisk struct {
	uuid   string
	gen    int // bumped by a CBT reset
	epoch  int // snapshots taken with CBT on
	writes []simWrite
	// snapEpoch maps a snapshot moref value to the epoch it froze.
	snapEpoch map[string]int
}

type simWrite struct {
	off, n int64
	epoch  int // snapshots taken before the write
}

// NewCBT returns an extension to Install into a model.
func NewCBT() *CBT { return &CBT{disks: map[string]*simDisk{}} }

// SetPageCap limits the disk range one QueryChangedDiskAreas answer
// covers (0: no limit), so that clients must page.
func (s *CBT) SetPageCap(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageCap = n
}

// SetFailQuery makes every query other than "*" fault.
func (s *CBT) SetFailQuery(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failQuery = on
}

// Queries returns how many QueryChangedDiskAreas calls were answered.
func (s *CBT) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// Wrapped returns how many calls the session wrapper answered (the
// canary's check that the dispatch trick still works).
func (s *CBT) Wrapped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wrapped
}

func (s *CBT) disk(uuid string) *simDisk {
	d := s.disks[uuid]
	if d == nil {
		d = &simDisk{uuid: uuid, snapEpoch: map[string]int{}}
		s.disks[uuid] = d
	}
	return d
}

// Install hooks the extension into the model's registry.
func (s *CBT) Install(m *simulator.Model) {
	reg := m.Map()
	reg.AddHandler(s)
	reg.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if method.Name != "QueryChangedDiskAreas" {
			return nil, nil
		}
		w := &cbtVM{Self: method.This, sim: s}
		if ctx.Session != nil {
			ctx.Session.Put(w)
		}
		return w, nil
	}
}

// Reference, PutObject, UpdateObject and RemoveObject make CBT a
// simulator.RegisterObject.
func (s *CBT) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "CairnCBTSim", Value: "cbtsim"}
}

// PutObject stamps changeIds on the disks of every new snapshot of a VM
// with CBT on.
func (s *CBT) PutObject(_ *simulator.Context, obj mo.Reference) {
	snap, ok := obj.(*simulator.VirtualMachineSnapshot)
	if !ok {
		return
	}
	if e := snap.Config.ChangeTrackingEnabled; e == nil || !*e {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dev := range snap.Config.Hardware.Device {
		vd, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || b.Uuid == "" {
			continue
		}
		d := s.disk(b.Uuid)
		d.epoch++
		d.snapEpoch[snap.Self.Value] = d.epoch
		b.ChangeId = fmt.Sprintf("%s:%d/%d", d.uuid, d.gen, d.epoch)
	}
}

// UpdateObject is part of simulator.RegisterObject; it does nothing.
func (s *CBT) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

// RemoveObject is part of simulator.RegisterObject; it does nothing.
func (s *CBT) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// recordWrite notes that [off, off+n) of the disk uuid was written.
func (s *CBT) recordWrite(uuid string, off, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.disk(uuid)
	d.writes = append(d.writes, simWrite{off: off, n: n, epoch: d.epoch})
}

// Reset simulates CBT being disabled and re-enabled on the disk: earlier
// changeIds become invalid.
func (s *CBT) Reset(uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disk(uuid).gen++
}

// cbtVM stands in for a VM for one QueryChangedDiskAreas call.
type cbtVM struct {
	Self types.ManagedObjectReference
	sim  *CBT
}

// Reference returns the VM's moref.
func (w *cbtVM) Reference() types.ManagedObjectReference { return w.Self }

// QueryChangedDiskAreas answers from the recorded writes.
func (w *cbtVM) QueryChangedDiskAreas(ctx *simulator.Context, req *types.QueryChangedDiskAreas) soap.HasFault {
	if ctx.Session != nil {
		defer ctx.Session.Remove(ctx, w.Self)
	}
	body := &methods.QueryChangedDiskAreasBody{}
	info, fault := w.sim.answer(ctx, req)
	if fault != nil {
		body.Fault_ = simulator.Fault(fmt.Sprintf("QueryChangedDiskAreas: %T", fault), fault)
		return body
	}
	body.Res = &types.QueryChangedDiskAreasResponse{Returnval: *info}
	return body
}

func (s *CBT) answer(ctx *simulator.Context, req *types.QueryChangedDiskAreas) (*types.DiskChangeInfo, types.BaseMethodFault) {
	invalid := func(p string) (*types.DiskChangeInfo, types.BaseMethodFault) {
		return nil, &types.InvalidArgument{InvalidProperty: p}
	}
	if req.Snapshot == nil {
		return invalid("snapshot")
	}
	snap, ok := ctx.Map.Get(*req.Snapshot).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return nil, &types.ManagedObjectNotFound{Obj: *req.Snapshot}
	}
	var b *types.VirtualDiskFlatVer2BackingInfo
	var capacity int64
	for _, dev := range snap.Config.Hardware.Device {
		if vd, ok := dev.(*types.VirtualDisk); ok && vd.Key == req.DeviceKey {
			b, _ = vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			capacity = vd.CapacityInBytes
		}
	}
	if b == nil || b.ChangeId == "" {
		return nil, &types.FileFault{File: "no changed block tracking on this disk"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	s.wrapped++
	d := s.disk(b.Uuid)
	at, ok := d.snapEpoch[req.Snapshot.Value]
	if !ok {
		return invalid("snapshot")
	}
	since := 0
	if req.ChangeId != "*" {
		if s.failQuery {
			return nil, &types.FileFault{File: "injected CBT failure"}
		}
		prefix, e, found := strings.Cut(req.ChangeId, "/")
		n, err := strconv.Atoi(e)
		if !found || err != nil || prefix != fmt.Sprintf("%s:%d", d.uuid, d.gen) || n > at {
			return invalid("changeId")
		}
		since = n
	}
	var blocks []int64
	for _, wr := range d.writes {
		if wr.epoch < since || wr.epoch >= at {
			continue
		}
		for blk := wr.off / CBTBlock; blk*CBTBlock < wr.off+wr.n; blk++ {
			blocks = append(blocks, blk)
		}
	}
	slices.Sort(blocks)
	blocks = slices.Compact(blocks)
	start := req.StartOffset
	end := capacity
	if s.pageCap > 0 {
		end = min(end, start+s.pageCap)
	}
	info := &types.DiskChangeInfo{StartOffset: start, Length: end - start}
	for _, blk := range blocks {
		a, z := max(blk*CBTBlock, start), min((blk+1)*CBTBlock, end)
		if a >= z {
			continue
		}
		if n := len(info.ChangedArea); n > 0 && info.ChangedArea[n-1].Start+info.ChangedArea[n-1].Length == a {
			info.ChangedArea[n-1].Length += z - a
			continue
		}
		info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: a, Length: z - a})
	}
	return info, nil
}

// DiskFile is a disk of a test VM: its device key, uuid, where its flat
// file is and its capacity.
type DiskFile struct {
	Key      int32
	UUID     string
	Flat     string // local path of the flat file
	Capacity int64
}

// Write writes data at off of the disk's flat file and records it for CBT.
// The simulator makes no delta disk on snapshot, so tests write only while
// no snapshot exists.
func (s *CBT) Write(t testing.TB, d DiskFile, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(d.Flat, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	s.recordWrite(d.UUID, off, int64(len(data)))
}
