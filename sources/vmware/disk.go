package vmware

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"

	"cairn/chunker"
	"cairn/repo/tree"
	"cairn/sources/blockdev"
)

// backupDisk reads one disk from the snapshot into a file node named name.
// doneBefore is the progress offset of the disks already done.
func (b *run) backupDisk(ctx context.Context, snap *vmSnapshot, d vdisk, flat object.DatastorePath,
	name string, doneBefore int64) (*DiskDetails, *tree.Node, error) {
	dd := &DiskDetails{Key: d.key, Label: d.label, UUID: d.uuid, ChangeID: d.changeID, Capacity: d.capacity,
		Datastore: d.backing.Datastore, DSMoref: d.ds.Value, Backing: d.backing.String(), Flat: flat.String(), Node: name}
	var pdet *Details
	if b.opts.Parent != nil {
		pdet = b.opts.Parent.Details
	}
	pd := pdet.disk(d.key)
	reason := b.distrustCBT(d, pdet, pd)

	var parent []tree.Chunk
	if reason == "" {
		var err error
		if parent, err = b.parentContent(ctx, pd.Node); err != nil {
			reason = err.Error()
		}
	}
	var changed []chunker.Extent
	if reason == "" {
		var err error
		changed, err = b.c.queryAreas(ctx, b.vmRef, snap.ref, d.key, d.capacity, pd.ChangeID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			reason = fmt.Sprintf("CBT query against the parent's changeId failed (%v)", err)
		}
	}
	incremental := reason == ""
	// The allocated areas let both kinds of read skip what was never
	// written: a full read never fetches them, and an incremental's
	// re-sync past a change does not fetch zeros either.
	alloc, err := b.c.queryAreas(ctx, b.vmRef, snap.ref, d.key, d.capacity, "*")
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		alloc = nil
		b.note("disk %d (%s): CBT cannot list allocated areas (%v): every byte is read", d.key, d.label, err)
	}
	if incremental {
		dd.ChangedBytes = sum(changed)
	} else if alloc != nil {
		dd.ChangedBytes = sum(alloc)
	} else {
		dd.ChangedBytes = d.capacity
	}

	retry := defaultRetry
	if b.opts.retry != nil {
		retry = *b.opts.retry
	}
	rd := newDSReader(ctx, b.c.vim.Client, b.dsURL(flat), d.capacity, alloc, b.opts.Workers, retry)
	// A full read is chunked in one stream, so that every byte crosses the
	// network once (parallel chunking reads each segment twice), and
	// reads ahead with Workers requests in flight. An incremental jumps
	// from change to change: read-ahead would fetch what is not needed.
	var src io.ReaderAt = rd
	if !incremental {
		src = newReadAhead(ctx, rd, d.capacity, readAheadBlock, b.opts.Workers)
	}
	iopts := blockdev.ImageOptions{Chunker: b.opts.Chunker, Parent: parent, Changed: changed,
		Incremental: incremental, Workers: b.opts.Workers, SplitWorkers: 1}
	if b.opts.Progress != nil {
		iopts.Progress = func(done int64) { b.opts.Progress(doneBefore+done, b.res.TotalBytes) }
	}
	content, st, err := blockdev.SaveImage(ctx, b.r, src, d.capacity, iopts)
	dd.BytesRead = rd.fetched.Load()
	b.res.BytesRead += dd.BytesRead
	if err != nil {
		return nil, nil, fmt.Errorf("disk %d (%s): %w", d.key, d.label, err)
	}
	if st.Fallback != "" {
		reason = st.Fallback
	}
	dd.Mode = st.Mode
	if b.opts.Parent != nil && reason != "" {
		dd.Fallback = reason
		b.note("disk %d (%s): full read: %s", d.key, d.label, reason)
	}
	now := time.Now()
	node := &tree.Node{Name: name, Type: tree.TypeFile, Mode: 0o600, ModTime: now, ChangeTime: now,
		Size: uint64(d.capacity), Content: content}
	return dd, node, nil
}

// distrustCBT returns why CBT cannot be trusted against the parent for
// disk d, or "" when an incremental is safe.
func (b *run) distrustCBT(d vdisk, pdet *Details, pd *DiskDetails) string {
	switch {
	case pdet == nil:
		return "no parent snapshot"
	case pd == nil:
		return "disk not in the parent snapshot"
	case pdet.Moref != b.det.Moref:
		return fmt.Sprintf("parent is of another VM object (moref %s, now %s)", pdet.Moref, b.det.Moref)
	case b.det.CBTEnabled:
		return "CBT was just enabled"
	case pdet.InstanceUUID != "" && pdet.InstanceUUID != b.det.InstanceUUID:
		return fmt.Sprintf("VM instance uuid changed from %s to %s (VM re-created)", pdet.InstanceUUID, b.det.InstanceUUID)
	case pd.ChangeID == "":
		return "parent has no changeId"
	case d.changeID == "":
		return "disk has no changeId (CBT not active on it)"
	case changeEpoch(pd.ChangeID) != changeEpoch(d.changeID):
		return fmt.Sprintf("changeId reset (CBT was disabled or reset): parent %s, now %s", pd.ChangeID, d.changeID)
	case pd.Capacity != d.capacity:
		return fmt.Sprintf("capacity changed from %d to %d bytes", pd.Capacity, d.capacity)
	case pd.DSMoref != d.ds.Value || pd.Datastore != d.backing.Datastore:
		return fmt.Sprintf("disk moved from datastore %s to %s", pd.Datastore, d.backing.Datastore)
	case pd.Backing != d.backing.String():
		return fmt.Sprintf("backing file changed from %s to %s", pd.Backing, d.backing)
	case pd.UUID != d.uuid:
		return fmt.Sprintf("disk uuid changed from %s to %s (disk re-created)", pd.UUID, d.uuid)
	}
	return ""
}

// changeEpoch is the part of a changeId before the last '/': vSphere
// changeIds are "<uuid>/<sequence>", and a new uuid means CBT was reset,
// so a sequence number of the old epoch means nothing any more.
func changeEpoch(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[:i]
	}
	return id
}

// parentContent returns the chunk list of the parent's node name.
func (b *run) parentContent(ctx context.Context, name string) ([]tree.Chunk, error) {
	t, err := b.r.LoadTree(ctx, b.opts.Parent.Root)
	if err != nil {
		return nil, fmt.Errorf("load parent tree: %w", err)
	}
	n := t.Find(name)
	if n == nil || n.Type != tree.TypeFile {
		return nil, fmt.Errorf("parent snapshot has no node %q", name)
	}
	return n.Content, nil
}

func sum(ext []chunker.Extent) int64 {
	var n int64
	for _, e := range ext {
		n += e.Length
	}
	return n
}
