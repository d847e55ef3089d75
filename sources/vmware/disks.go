package vmware

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vmdk"
)

// vdisk is one virtual disk as frozen in the snapshot's configuration.
type vdisk struct {
	key      int32
	label    string
	uuid     string
	changeID string
	capacity int64
	ds       types.ManagedObjectReference
	backing  object.DatastorePath // descriptor
	parent   bool                 // backed by a delta chain
}

// disksOf lists the virtual disks of a configuration. Only flat (VMFS or
// NFS "FlatVer2") disks can be read over the /folder endpoint; others are
// refused with an error naming the disk.
func disksOf(cfg *types.VirtualMachineConfigInfo) ([]vdisk, error) {
	var out []vdisk
	for _, dev := range cfg.Hardware.Device {
		d, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		label := ""
		if info := d.DeviceInfo; info != nil {
			label = info.GetDescription().Label
		}
		b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			return nil, fmt.Errorf("disk %d (%s): backing %T not supported (flat disks only)", d.Key, label, d.Backing)
		}
		v := vdisk{key: d.Key, label: label, uuid: b.Uuid, changeID: b.ChangeId, capacity: d.CapacityInBytes,
			parent: b.Parent != nil}
		if v.capacity == 0 {
			v.capacity = d.CapacityInKB * 1024
		}
		if b.Datastore != nil {
			v.ds = *b.Datastore
		}
		if !v.backing.FromString(b.FileName) {
			return nil, fmt.Errorf("disk %d (%s): bad backing file name %q", d.Key, label, b.FileName)
		}
		out = append(out, v)
	}
	return out, nil
}

// flatExtent returns the datastore path of the disk's flat extent, read
// from its descriptor; a descriptor that is not one flat extent is refused.
func flatExtent(desc []byte, backing object.DatastorePath) (object.DatastorePath, error) {
	d, err := vmdk.ParseDescriptor(bytes.NewReader(desc))
	if err != nil {
		return object.DatastorePath{}, fmt.Errorf("descriptor %s: %w", backing, err)
	}
	if len(d.Extent) != 1 {
		return object.DatastorePath{}, fmt.Errorf("descriptor %s: %d extents, want one flat extent", backing, len(d.Extent))
	}
	e := d.Extent[0]
	if t := strings.ToUpper(e.Type); t != "VMFS" && t != "FLAT" {
		return object.DatastorePath{}, fmt.Errorf("descriptor %s: extent type %s not supported", backing, e.Type)
	}
	return object.DatastorePath{Datastore: backing.Datastore, Path: path.Join(path.Dir(backing.Path), e.Info)}, nil
}
