package vmware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"cairn/internal/crypto"
	"cairn/repo/tree"
	"cairn/sources/blockdev"
)

// maxConfigFile bounds a downloaded .vmx, .nvram or descriptor.
const maxConfigFile = 16 << 20

// Result is what Backup produced. The caller saves the snapshot with
// Details as its source details.
type Result struct {
	Root    crypto.ID
	Details *Details
	// BytesRead counts bytes fetched over HTTP (disks and config files).
	BytesRead int64
	// TotalBytes is the sum of the disk capacities.
	TotalBytes int64
}

// run holds the state of one Backup.
type run struct {
	c      *Client
	r      blockdev.Repo
	opts   Options
	vmRef  types.ManagedObjectReference
	vm     *mo.VirtualMachine
	dcPath string
	det    *Details
	res    *Result
}

func (b *run) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.det.Notes = append(b.det.Notes, msg)
	if b.opts.Log != nil {
		b.opts.Log(msg)
	}
}

// Backup backs up the VM's disks and configuration files into r and
// returns the tree. The VM snapshot it creates is removed before Backup
// returns, whatever happens: also when ctx is cancelled or times out
// (removal then runs on a fresh context bounded by cleanupTimeout).
func Backup(ctx context.Context, c *Client, r blockdev.Repo, opts Options) (res *Result, err error) {
	if opts.Quiesce == "" {
		opts.Quiesce = QuiesceAuto
	}
	if opts.Workers < 1 {
		opts.Workers = 4
	}
	b := &run{c: c, r: r, opts: opts, det: &Details{VCenter: c.host}, res: &Result{}}
	b.res.Details = b.det
	if b.vmRef, err = c.findVM(ctx, opts.VM, opts.Moref); err != nil {
		return nil, err
	}
	if b.vm, err = c.loadVM(ctx, b.vmRef); err != nil {
		return nil, err
	}
	b.det.VM, b.det.Moref = b.vm.Name, b.vmRef.Value
	b.det.InstanceUUID, b.det.VMX = b.vm.Config.InstanceUuid, b.vm.Config.Files.VmPathName
	if b.dcPath, err = c.datacenterPath(ctx, b.vmRef); err != nil {
		return nil, err
	}
	if b.opts.Parent == nil && opts.LookupParent != nil {
		if b.opts.Parent, err = opts.LookupParent(ctx, c.host, b.vm.Name); err != nil {
			return nil, fmt.Errorf("find parent snapshot: %w", err)
		}
	}

	// A snapshot left by a crashed run would otherwise stay forever and
	// grow its delta disk.
	if n, err := c.removeOwn(ctx, b.vmRef, ""); err != nil {
		return nil, fmt.Errorf("remove leftover cairn snapshot: %w", err)
	} else if n > 0 {
		b.note("removed %d leftover snapshot(s) %q of an earlier run", n, SnapshotName)
	}
	// Refuse before creating a snapshot (and so a consolidation on the
	// VM) that could not be read anyway.
	if others, err := c.otherSnapshots(ctx, b.vmRef); err != nil {
		return nil, err
	} else if len(others) > 0 {
		return nil, fmt.Errorf("%w: VM %q has %d snapshot(s) (%s), so its disks are delta chains, which cairn cannot "+
			"read over the datastore's HTTP endpoint: delete or consolidate them (Snapshot Manager > Delete All, or "+
			"govc snapshot.remove -vm %q '*') and run the backup again", ErrVMHasSnapshots, b.vm.Name, len(others),
			quoteList(others), b.vm.Name)
	}
	if cbt := b.vm.Config.ChangeTrackingEnabled; cbt == nil || !*cbt {
		if err := c.enableCBT(ctx, b.vmRef); err != nil {
			return nil, err
		}
		b.det.CBTEnabled = true
		b.note("changed block tracking was off: enabled it; this backup reads every allocated area")
	}

	runID := newRunID()
	defer func() {
		// Remove the snapshot on a context that survives cancellation and
		// --timeout. Matching by run id also catches a snapshot whose
		// creation task finished after ctx ended.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, rerr := c.removeOwn(cctx, b.vmRef, runID); rerr != nil {
			err = errors.Join(err, fmt.Errorf("VM snapshot %q NOT removed (the next run removes it): %w", SnapshotName, rerr))
		}
	}()
	snap, err := c.createSnapshot(ctx, b.vmRef, runID, opts.Quiesce)
	if err != nil {
		return nil, err
	}
	b.det.Quiesced = snap.quiesced
	if opts.Quiesce == QuiesceAuto && !snap.quiesced {
		b.note("quiesced snapshot failed: took a crash-consistent one")
	}
	if opts.afterSnapshot != nil {
		opts.afterSnapshot()
	}
	if err := b.backupSnapshot(ctx, snap); err != nil {
		return nil, err
	}
	return b.res, nil
}

// backupSnapshot reads everything from the VM snapshot and saves the tree.
func (b *run) backupSnapshot(ctx context.Context, snap *vmSnapshot) error {
	cfg, err := b.c.snapshotConfig(ctx, snap.ref)
	if err != nil {
		return err
	}
	disks, err := disksOf(cfg)
	if err != nil {
		return err
	}
	for _, d := range disks {
		b.res.TotalBytes += d.capacity
	}
	names := map[string]bool{}
	var nodes []*tree.Node
	addNode := func(n *tree.Node) { names[n.Name] = true; nodes = append(nodes, n) }

	for _, f := range b.configFiles() {
		n, err := b.saveFile(ctx, f.path, unique(names, path.Base(f.path.Path), f.prefix))
		if errors.Is(err, errNotFound) {
			b.note("%s not found on the datastore: not saved", f.path)
			continue
		}
		if err != nil {
			return err
		}
		if b.det.Files == nil {
			b.det.Files = map[string]string{}
		}
		b.det.Files[n.Name] = f.path.String()
		addNode(n)
	}
	var done int64
	for _, d := range disks {
		if d.parent {
			return fmt.Errorf("disk %d (%s) is backed by a delta chain (%s), which cairn cannot read over the datastore's "+
				"HTTP endpoint: delete the VM's other snapshots, or consolidate its disks (Snapshots > Consolidate) if "+
				"it has none, and run the backup again", d.key, d.label, d.backing)
		}
		desc, descData, err := b.saveFileData(ctx, d.backing, unique(names, path.Base(d.backing.Path), fmt.Sprintf("disk%d-", d.key)))
		if err != nil {
			return fmt.Errorf("disk %d descriptor: %w", d.key, err)
		}
		addNode(desc)
		flat, err := flatExtent(descData, d.backing)
		if err != nil {
			return err
		}
		dd, node, err := b.backupDisk(ctx, snap, d, flat, unique(names, path.Base(flat.Path), fmt.Sprintf("disk%d-", d.key)), done)
		if err != nil {
			return err
		}
		done += d.capacity
		dd.Descriptor = desc.Name
		addNode(node)
		b.det.Disks = append(b.det.Disks, *dd)
	}
	root, err := b.r.SaveTree(ctx, &tree.Tree{Nodes: nodes})
	if err != nil {
		return fmt.Errorf("save tree: %w", err)
	}
	b.res.Root = root
	return nil
}

// configFile is a configuration file to save, with the prefix that makes
// its node name unique if needed.
type configFile struct {
	path   object.DatastorePath
	prefix string
}

// configFiles lists the .vmx and .nvram: from layoutEx when the server
// fills it, else next to the .vmx by name.
func (b *run) configFiles() []configFile {
	var vmx object.DatastorePath
	if !vmx.FromString(b.vm.Config.Files.VmPathName) {
		return nil
	}
	out := []configFile{{path: vmx, prefix: "vmx-"}}
	nvram := object.DatastorePath{Datastore: vmx.Datastore, Path: strings.TrimSuffix(vmx.Path, ".vmx") + ".nvram"}
	if b.vm.LayoutEx != nil {
		for _, f := range b.vm.LayoutEx.File {
			var p object.DatastorePath
			if f.Type == string(types.VirtualMachineFileLayoutExFileTypeNvram) && p.FromString(f.Name) {
				nvram = p
			}
		}
	}
	return append(out, configFile{path: nvram, prefix: "nvram-"})
}

// quoteList quotes names for a message, the first few only.
func quoteList(names []string) string {
	var q []string
	for i, n := range names {
		if i == 3 {
			q = append(q, fmt.Sprintf("and %d more", len(names)-i))
			break
		}
		q = append(q, strconv.Quote(n))
	}
	return strings.Join(q, ", ")
}

// unique returns name, or prefix+name when name is taken.
func unique(taken map[string]bool, name, prefix string) string {
	if !taken[name] {
		return name
	}
	for i := 0; ; i++ {
		n := prefix + name
		if i > 0 {
			n = fmt.Sprintf("%s%d-%s", prefix, i, name)
		}
		if !taken[n] {
			return n
		}
	}
}

// saveFile downloads a small datastore file and saves it as a file node.
func (b *run) saveFile(ctx context.Context, p object.DatastorePath, name string) (*tree.Node, error) {
	n, _, err := b.saveFileData(ctx, p, name)
	return n, err
}

// saveFileData is saveFile that also returns the file's content.
func (b *run) saveFileData(ctx context.Context, p object.DatastorePath, name string) (*tree.Node, []byte, error) {
	data, err := getFile(ctx, b.c.vim.Client, b.dsURL(p), maxConfigFile)
	if err != nil {
		return nil, nil, err
	}
	b.res.BytesRead += int64(len(data))
	content, _, err := blockdev.SaveImage(ctx, b.r, bytes.NewReader(data), int64(len(data)),
		blockdev.ImageOptions{Chunker: b.opts.Chunker, Workers: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("save %s: %w", p, err)
	}
	now := time.Now()
	return &tree.Node{Name: name, Type: tree.TypeFile, Mode: 0o600, ModTime: now, ChangeTime: now,
		Size: uint64(len(data)), Content: content}, data, nil
}

// dsURL is the /folder URL of a datastore path.
func (b *run) dsURL(p object.DatastorePath) *url.URL {
	return object.NewDatastoreURL(*b.c.vim.URL(), b.dcPath, p.Datastore, p.Path)
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
