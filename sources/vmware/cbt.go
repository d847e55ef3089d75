package vmware

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"

	"cairn/chunker"
	"cairn/sources/blockdev"
)

// queryAreas asks CBT which areas of disk key changed since changeID at
// snapshot snap ("*": which areas are allocated at all), paging through
// the answers until the disk's end. It calls methods.QueryChangedDiskAreas
// directly because object.VirtualMachine's wrapper never sends "*".
func (c *Client) queryAreas(ctx context.Context, vm, snap types.ManagedObjectReference, key int32,
	capacity int64, changeID string) ([]chunker.Extent, error) {
	var out []chunker.Extent
	for off := int64(0); off < capacity; {
		res, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
			This: vm, Snapshot: &snap, DeviceKey: key, StartOffset: off, ChangeId: changeID})
		if err != nil {
			return nil, fmt.Errorf("QueryChangedDiskAreas(disk %d, changeId %q, offset %d): %w", key, changeID, off, err)
		}
		info := res.Returnval
		for _, a := range info.ChangedArea {
			out = append(out, chunker.Extent{Offset: a.Start, Length: a.Length})
		}
		next := info.StartOffset + info.Length
		if next <= off {
			return nil, fmt.Errorf("QueryChangedDiskAreas(disk %d): answer for offset %d makes no progress", key, off)
		}
		off = next
	}
	return blockdev.MergeExtents(out, capacity), nil
}
