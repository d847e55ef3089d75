package vmware

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vmdk"

	"cairn/internal/crypto"
	"cairn/repo/tree"
	"cairn/sources/blockdev"
	"cairn/sources/stream"
)

// sectorSize is the unit of a descriptor's extent sizes.
const sectorSize = 512

// uploadHole bounds the zeros one hole chunk turns into at a time while
// uploading, so that a large hole does not become one large buffer.
const uploadHole = 1 << 20

// DatastoreTarget says where RestoreToDatastore writes a disk.
type DatastoreTarget struct {
	// Datastore is the datastore name; "" means the disk's datastore at
	// backup time.
	Datastore string
	// Path is the descriptor's path in the datastore ("dir/name.vmdk");
	// the flat extent goes next to it as "dir/name-flat.vmdk". "" means
	// "<dir of the original>/<original name>-restored-<Tag>.vmdk".
	Path string
	// Tag names the default path (the snapshot's short id).
	Tag string
	// Force overwrites existing files instead of failing with
	// ErrTargetExists.
	Force bool
	// Progress, if set, is called with the flat bytes uploaded so far.
	Progress func(n int64)
}

// Uploaded says what RestoreToDatastore wrote.
type Uploaded struct {
	Descriptor string // "[ds] dir/name.vmdk": what to attach to a VM
	Flat       string // "[ds] dir/name-flat.vmdk"
	Size       int64  // flat bytes uploaded (the disk's capacity)
	// Generated is set when the snapshot held no descriptor and one was
	// written for the capacity.
	Generated bool
}

// RestoreToDatastore uploads the selected disk of a VM snapshot to a
// datastore over its /folder HTTP endpoint: first the flat extent,
// streamed from the repository with bounded memory, then a descriptor
// pointing at it (the saved one with a new extent line, CID and uuid, or
// one generated for the capacity). A flat file left by a failed or
// cancelled upload is deleted.
func RestoreToDatastore(ctx context.Context, c *Client, l blockdev.Loader, root crypto.ID, det *Details, sel string,
	t DatastoreTarget) (*DiskDetails, *Uploaded, error) {
	d, err := FindDisk(det, sel)
	if err != nil {
		return nil, nil, err
	}
	tr, err := l.LoadTree(ctx, root)
	if err != nil {
		return d, nil, fmt.Errorf("load snapshot tree: %w", err)
	}
	data := tr.Find(d.Node)
	if data == nil || data.Type != tree.TypeFile {
		return d, nil, fmt.Errorf("snapshot has no disk image %q", d.Node)
	}
	size := int64(data.ContentSize())
	if size <= 0 || size%sectorSize != 0 || (d.Capacity != 0 && size != d.Capacity) {
		return d, nil, fmt.Errorf("disk image %q holds %d bytes, capacity %d: not a whole number of sectors or wrong size", d.Node, size, d.Capacity)
	}
	descPath, err := targetPath(d, t)
	if err != nil {
		return d, nil, err
	}
	flatPath := strings.TrimSuffix(descPath, ".vmdk") + "-flat.vmdk"
	dsName := t.Datastore
	if dsName == "" {
		dsName = d.Datastore
	}
	ds, err := c.findDatastore(ctx, dsName, d)
	if err != nil {
		return d, nil, err
	}
	dcObj, dc, err := c.datacenterOf(ctx, ds.Reference())
	if err != nil {
		return d, nil, err
	}
	up := &Uploaded{Descriptor: ds.Path(descPath), Flat: ds.Path(flatPath), Size: size}

	var saved []byte
	if n := tr.Find(d.Descriptor); d.Descriptor != "" && n != nil && n.Type == tree.TypeFile && n.ContentSize() <= maxConfigFile {
		var buf bytes.Buffer
		if _, err := stream.Copy(ctx, l, n, &buf); err != nil {
			return d, nil, fmt.Errorf("load descriptor %q: %w", d.Descriptor, err)
		}
		saved = buf.Bytes()
	}
	desc, err := restoredDescriptor(saved, path.Base(flatPath), size)
	if err != nil {
		return d, nil, err
	}
	up.Generated = saved == nil

	if !t.Force {
		for _, p := range []string{descPath, flatPath} {
			if err := notExists(ctx, ds, p); err != nil {
				return d, nil, err
			}
		}
	}
	fm := object.NewFileManager(c.vim)
	if dir := path.Dir(descPath); dir != "." && dir != "/" {
		err := fm.MakeDirectory(ctx, ds.Path(dir), dcObj, true)
		if err != nil && !types.IsAlreadyExists(err) && !isFileAlreadyExists(err) {
			return d, nil, fmt.Errorf("create directory %s: %w", ds.Path(dir), err)
		}
	}

	content := stream.Reader(ctx, l, splitHoles(data))
	defer content.Close() // stops the repository reads if the upload ends early
	body := &countingReader{r: content, progress: t.Progress}
	if err := c.upload(ctx, dc, ds, flatPath, body, size); err != nil {
		// A partial flat file would look like a disk: delete it, also
		// when ctx was cancelled.
		if derr := c.removePartial(context.WithoutCancel(ctx), dcObj, ds, flatPath); derr != nil {
			err = errors.Join(err, fmt.Errorf("partial %s NOT deleted: %w", up.Flat, derr))
		}
		return d, nil, fmt.Errorf("upload %s: %w", up.Flat, err)
	}
	if err := c.upload(ctx, dc, ds, descPath, bytes.NewReader(desc), int64(len(desc))); err != nil {
		return d, nil, fmt.Errorf("upload %s: %w", up.Descriptor, err)
	}
	return d, up, nil
}

// targetPath returns the descriptor path to write, checked.
func targetPath(d *DiskDetails, t DatastoreTarget) (string, error) {
	p := t.Path
	if p == "" {
		var orig object.DatastorePath
		if !orig.FromString(d.Backing) || orig.Path == "" {
			return "", fmt.Errorf("disk %d: no original backing path recorded: give a datastore path", d.Key)
		}
		tag := t.Tag
		if tag == "" {
			tag = "copy"
		}
		p = strings.TrimSuffix(orig.Path, ".vmdk") + "-restored-" + tag + ".vmdk"
	}
	p = strings.TrimPrefix(p, "/")
	switch {
	case !strings.HasSuffix(p, ".vmdk") || strings.HasSuffix(p, "-flat.vmdk"):
		return "", fmt.Errorf("datastore path %q: want DIR/NAME.vmdk (the descriptor; the flat extent goes next to it)", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "", fmt.Errorf("datastore path %q: no .. allowed", p)
	case strings.HasPrefix(p, "["):
		return "", fmt.Errorf("datastore path %q: give the datastore separately, not as [name]", p)
	}
	return p, nil
}

// findDatastore resolves a datastore by name, preferring the disk's
// recorded moref when the name is the recorded one.
func (c *Client) findDatastore(ctx context.Context, name string, d *DiskDetails) (*object.Datastore, error) {
	if name == "" {
		return nil, errors.New("no datastore recorded for the disk: give one")
	}
	if name == d.Datastore && d.DSMoref != "" {
		ref := types.ManagedObjectReference{Type: "Datastore", Value: d.DSMoref}
		var m mo.Datastore
		if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, ref, []string{"name"}, &m); err == nil && m.Name == name {
			ds := object.NewDatastore(c.vim, ref)
			ds.InventoryPath = name
			return ds, nil
		}
	}
	refs, err := c.findByName(ctx, "Datastore", name)
	if err != nil {
		return nil, fmt.Errorf("find datastore %q: %w", name, err)
	}
	if len(refs) != 1 {
		return nil, fmt.Errorf("%d datastores are named %q", len(refs), name)
	}
	ds := object.NewDatastore(c.vim, refs[0])
	ds.InventoryPath = name
	return ds, nil
}

// notExists returns nil when the file p is absent from the datastore,
// an ErrTargetExists-wrapping error when it is there.
func notExists(ctx context.Context, ds *object.Datastore, p string) error {
	_, err := ds.Stat(ctx, p)
	var noFile object.DatastoreNoSuchFileError
	var noDir object.DatastoreNoSuchDirectoryError
	switch {
	case err == nil:
		return fmt.Errorf("%s %w: use --force to overwrite it", ds.Path(p), ErrTargetExists)
	case errors.As(err, &noFile), errors.As(err, &noDir):
		return nil
	}
	return fmt.Errorf("look for %s: %w", ds.Path(p), err)
}

// upload PUTs size bytes from r to the datastore file p.
func (c *Client) upload(ctx context.Context, dc string, ds *object.Datastore, p string, r io.Reader, size int64) error {
	u := object.NewDatastoreURL(*c.vim.URL(), dc, ds.Name(), p)
	param := soap.DefaultUpload
	param.ContentLength = size
	return c.vim.Client.Upload(ctx, r, u, &param)
}

// partialChecks bounds how often removePartial deletes and looks again.
const partialChecks = 5

// removePartial deletes the flat file a failed upload may have left. The
// server may still be handling the aborted PUT and create or finish the
// file after a first delete, so it looks again a second later and deletes
// again, a few times.
func (c *Client) removePartial(ctx context.Context, dc *object.Datacenter, ds *object.Datastore, p string) error {
	for range partialChecks {
		if err := c.deleteFile(ctx, dc, ds.Path(p)); err != nil {
			return err
		}
		time.Sleep(time.Second)
		if err := notExists(ctx, ds, p); err == nil {
			return nil
		} else if !errors.Is(err, ErrTargetExists) {
			return err
		}
	}
	return fmt.Errorf("%s reappears after %d deletes", ds.Path(p), partialChecks)
}

// deleteFile deletes a datastore file, bounded by cleanupTimeout.
func (c *Client) deleteFile(ctx context.Context, dc *object.Datacenter, name string) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	task, err := object.NewFileManager(c.vim).DeleteDatastoreFile(ctx, name, dc)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && types.IsFileNotFound(err) {
		return nil
	}
	return err
}

// isFileAlreadyExists reports a FileAlreadyExists fault (MakeDirectory on
// an existing directory).
func isFileAlreadyExists(err error) bool {
	return fault.Is(err, &types.FileAlreadyExists{})
}

// splitHoles returns a copy of n whose holes are at most uploadHole bytes,
// so that streaming it allocates bounded zero buffers.
func splitHoles(n *tree.Node) *tree.Node {
	out := *n
	out.Content = nil
	for _, c := range n.Content {
		for c.IsHole() && c.Size > uploadHole {
			out.Content = append(out.Content, tree.Chunk{Size: uploadHole})
			c.Size -= uploadHole
		}
		out.Content = append(out.Content, c)
	}
	return &out
}

// countingReader reports the bytes read through it.
type countingReader struct {
	r        io.Reader
	n        atomic.Int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	n := c.n.Add(int64(k))
	if c.progress != nil && k > 0 {
		c.progress(n)
	}
	return k, err
}

// restoredDescriptor returns the descriptor of a restored copy whose one
// flat extent is flat: the saved descriptor with its extent line, CID
// and disk uuid replaced (and the change tracking file dropped, since it
// belongs to the original), or, without one, a descriptor generated for
// size bytes.
func restoredDescriptor(saved []byte, flat string, size int64) ([]byte, error) {
	var id [20]byte
	if _, err := io.ReadFull(rand.Reader, id[:]); err != nil {
		return nil, fmt.Errorf("descriptor ids: %w", err)
	}
	ext := vmdk.Extent{Permission: "RW", Size: size / sectorSize, Type: "VMFS", Info: flat}
	d := vmdk.NewDescriptor(ext)
	if saved != nil {
		var err error
		if d, err = vmdk.ParseDescriptor(bytes.NewReader(saved)); err != nil {
			return nil, fmt.Errorf("saved descriptor: %w", err)
		}
		if len(d.Extent) != 1 {
			return nil, fmt.Errorf("saved descriptor has %d extents, want one flat extent", len(d.Extent))
		}
		if t := strings.ToUpper(d.Extent[0].Type); t == "VMFS" || t == "FLAT" {
			ext.Type = d.Extent[0].Type
		}
		d.Extent[0] = ext
		if _, ok := d.DDB["uuid"]; ok {
			d.DDB["uuid"] = ddbUUID(id[4:])
		}
		delete(d.DDB, "longContentID")
	} else {
		cyl := size / (255 * 63 * sectorSize)
		d.DDB["adapterType"] = "lsilogic"
		d.DDB["geometry.cylinders"] = fmt.Sprint(max(cyl, 1))
		d.DDB["geometry.heads"] = "255"
		d.DDB["geometry.sectors"] = "63"
		d.DDB["virtualHWVersion"] = "13"
		d.DDB["uuid"] = ddbUUID(id[4:])
	}
	d.CID = vmdk.DiskContentID(uint32(id[0]) | uint32(id[1])<<8 | uint32(id[2])<<16 | uint32(id[3])<<24)
	d.ParentCID = 0xffffffff
	var buf bytes.Buffer
	if err := d.Write(&buf); err != nil {
		return nil, fmt.Errorf("write descriptor: %w", err)
	}
	return buf.Bytes(), nil
}

// ddbUUID formats 16 bytes as a descriptor's ddb.uuid
// ("60 00 c2 9a ... 7f-ab ...").
func ddbUUID(b []byte) string {
	var sb strings.Builder
	for i := range 16 {
		switch {
		case i == 8:
			sb.WriteByte('-')
		case i > 0:
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", b[i])
	}
	return sb.String()
}
