package vmware

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// SnapshotName is the name of the VM snapshots cairn creates; together
// with a description starting with snapshotDescPrefix it marks a snapshot
// that cairn owns and may remove when an earlier run left it behind.
const (
	SnapshotName       = "cairn-backup"
	snapshotDescPrefix = "cairn backup run "
)

// cleanupTimeout bounds snapshot removal after the run's context ended:
// removal must outlive cancellation and --timeout, but not hang forever.
const cleanupTimeout = 10 * time.Minute

// ownSnapshots lists the snapshots in the tree that cairn created; with a
// non-empty run id only that run's.
func ownSnapshots(list []types.VirtualMachineSnapshotTree, runID string) []types.VirtualMachineSnapshotTree {
	var out []types.VirtualMachineSnapshotTree
	for _, s := range list {
		if s.Name == SnapshotName && strings.HasPrefix(s.Description, snapshotDescPrefix) &&
			(runID == "" || s.Description == snapshotDescPrefix+runID) {
			out = append(out, s)
		}
		out = append(out, ownSnapshots(s.ChildSnapshotList, runID)...)
	}
	return out
}

// otherSnapshots returns the names of the VM's snapshots that cairn did
// not create.
func (c *Client) otherSnapshots(ctx context.Context, vm types.ManagedObjectReference) ([]string, error) {
	var m mo.VirtualMachine
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, vm, []string{"snapshot"}, &m); err != nil {
		return nil, fmt.Errorf("VM %s snapshots: %w", vm.Value, err)
	}
	var names []string
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(l []types.VirtualMachineSnapshotTree) {
		for _, s := range l {
			if !(s.Name == SnapshotName && strings.HasPrefix(s.Description, snapshotDescPrefix)) {
				names = append(names, s.Name)
			}
			walk(s.ChildSnapshotList)
		}
	}
	if m.Snapshot != nil {
		walk(m.Snapshot.RootSnapshotList)
	}
	return names, nil
}

// removeSnapshot removes one snapshot (not its children) and consolidates.
func (c *Client) removeSnapshot(ctx context.Context, ref types.ManagedObjectReference) error {
	res, err := methods.RemoveSnapshot_Task(ctx, c.vim, &types.RemoveSnapshot_Task{
		This: ref, RemoveChildren: false, Consolidate: types.NewBool(true)})
	if err != nil {
		return fmt.Errorf("remove snapshot %s: %w", ref.Value, err)
	}
	if err := object.NewTask(c.vim, res.Returnval).Wait(ctx); err != nil {
		return fmt.Errorf("remove snapshot %s: %w", ref.Value, err)
	}
	return nil
}

// removeOwn removes the VM's cairn snapshots (of runID, or all when
// empty) and returns how many it removed.
func (c *Client) removeOwn(ctx context.Context, vm types.ManagedObjectReference, runID string) (int, error) {
	var m mo.VirtualMachine
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, vm, []string{"snapshot"}, &m); err != nil {
		return 0, fmt.Errorf("VM %s snapshots: %w", vm.Value, err)
	}
	if m.Snapshot == nil {
		return 0, nil
	}
	n := 0
	for _, s := range ownSnapshots(m.Snapshot.RootSnapshotList, runID) {
		if err := c.removeSnapshot(ctx, s.Snapshot); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// vmSnapshot is the snapshot a run works from.
type vmSnapshot struct {
	ref      types.ManagedObjectReference
	quiesced bool
}

// createSnapshot creates the run's snapshot. With quiesce "auto" a failed
// quiesced attempt is retried crash-consistent.
func (c *Client) createSnapshot(ctx context.Context, vm types.ManagedObjectReference, runID string, q Quiesce) (*vmSnapshot, error) {
	tryQuiesce := q == QuiesceAlways || q == QuiesceAuto
	for {
		task, err := object.NewVirtualMachine(c.vim, vm).CreateSnapshot(ctx, SnapshotName,
			snapshotDescPrefix+runID, false, tryQuiesce)
		if err == nil {
			var info *types.TaskInfo
			info, err = task.WaitForResult(ctx)
			if err == nil {
				ref, ok := info.Result.(types.ManagedObjectReference)
				if !ok {
					return nil, fmt.Errorf("create snapshot: task returned %T", info.Result)
				}
				return &vmSnapshot{ref: ref, quiesced: tryQuiesce}, nil
			}
		}
		if ctx.Err() != nil || !tryQuiesce || q == QuiesceAlways {
			return nil, fmt.Errorf("create snapshot (quiesce %v): %w", tryQuiesce, err)
		}
		tryQuiesce = false
	}
}

// snapshotConfig returns the VM configuration frozen in the snapshot:
// the disks and their changeIds as of the snapshot.
func (c *Client) snapshotConfig(ctx context.Context, ref types.ManagedObjectReference) (*types.VirtualMachineConfigInfo, error) {
	var s mo.VirtualMachineSnapshot
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, ref, []string{"config"}, &s); err != nil {
		return nil, fmt.Errorf("snapshot %s config: %w", ref.Value, err)
	}
	return &s.Config, nil
}

// enableCBT turns Changed Block Tracking on for the VM.
func (c *Client) enableCBT(ctx context.Context, vm types.ManagedObjectReference) error {
	task, err := object.NewVirtualMachine(c.vim, vm).Reconfigure(ctx,
		types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(true)})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("enable changed block tracking: %w", err)
	}
	return nil
}
