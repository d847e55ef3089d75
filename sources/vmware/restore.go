package vmware

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"cairn/internal/crypto"
	"cairn/sources/blockdev"
)

// FindDisk picks a disk of a VM snapshot by its position in Details.Disks
// ("0", "1", ...), its device key ("key=2000"), its label or its node name.
func FindDisk(det *Details, sel string) (*DiskDetails, error) {
	if i, err := strconv.Atoi(sel); err == nil && i >= 0 && i < len(det.Disks) {
		return &det.Disks[i], nil
	}
	for i := range det.Disks {
		d := &det.Disks[i]
		if sel == "key="+strconv.Itoa(int(d.Key)) || sel == d.Label || sel == d.Node {
			return d, nil
		}
	}
	var have []string
	for i, d := range det.Disks {
		have = append(have, fmt.Sprintf("%d: key=%d %q %s", i, d.Key, d.Label, d.Node))
	}
	return nil, fmt.Errorf("no disk %q in the snapshot; it has: %s", sel, strings.Join(have, "; "))
}

// RestoreDisk writes the flat image of the selected disk to the file or
// block device at path: sparse where zero on a file.
func RestoreDisk(ctx context.Context, l blockdev.Loader, root crypto.ID, det *Details, sel, path string,
	opts blockdev.RestoreOptions) (*DiskDetails, blockdev.RestoreStats, error) {
	d, err := FindDisk(det, sel)
	if err != nil {
		return nil, blockdev.RestoreStats{}, err
	}
	// Refuse to clobber a non-empty regular file by accident; devices are
	// the point of restoring to a path that exists.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		return d, blockdev.RestoreStats{}, fmt.Errorf("restore disk: %s exists and is not empty", path)
	}
	st, err := blockdev.RestoreFile(ctx, l, root, d.Node, path, opts)
	return d, st, err
}
