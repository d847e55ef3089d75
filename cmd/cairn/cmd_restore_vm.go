package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/sources/blockdev"
	"cairn/sources/vmware"
)

func cmdRestoreVM() *cli.Command {
	return &cli.Command{
		Name:      "restore-vm",
		Usage:     "write one disk of a VM snapshot as a flat image, or upload it to a datastore",
		ArgsUsage: "SNAPSHOT",
		Description: "--to writes a local file or device (sparse where zero). --to-datastore uploads the flat\n" +
			"extent and a descriptor to a vSphere datastore (default: the disk's own, next to the original as\n" +
			"<name>-restored-<snapshot>.vmdk), never overwriting without --force. vCenter credentials come from\n" +
			"CAIRN_VSPHERE_USER and CAIRN_VSPHERE_PASSWORD or --vsphere-password-file, as for backup-vm.",
		Flags: append(append(filterFlags(), vsphereFlags()...),
			&cli.StringFlag{Name: "disk", Value: "0", Usage: "disk `N` (position), key=KEY, label or node name"},
			&cli.StringFlag{Name: "to", Usage: "write to `FILE` or block device"},
			&cli.BoolFlag{Name: "to-datastore", Usage: "upload the disk to a datastore through vCenter"},
			&cli.StringFlag{Name: "datastore", Usage: "with --to-datastore: datastore `NAME` (default: the disk's original)"},
			&cli.StringFlag{Name: "datastore-path", Usage: "with --to-datastore: descriptor `DIR/NAME.vmdk` (default: <dir>/<disk>-restored-<snapshot>.vmdk)"},
			&cli.BoolFlag{Name: "force", Usage: "with --to-datastore: overwrite existing files"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore-vm needs one snapshot")
			}
			toDS := c.Bool("to-datastore")
			if toDS == (c.String("to") != "") {
				return errors.New("restore-vm needs either --to FILE or --to-datastore")
			}
			if !toDS && (c.IsSet("datastore") || c.IsSet("datastore-path") || c.IsSet("force")) {
				return errors.New("--datastore, --datastore-path and --force go with --to-datastore")
			}
			var cfg vmware.Config
			if toDS {
				var err error
				if cfg, err = vsphereConfig(c); err != nil {
					return err
				}
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sn, err := findSnapshot(c, r, c.Args().First())
			if err != nil {
				return err
			}
			if sn.Kind != repo.KindVM {
				return errors.New("not a VM snapshot: use restore or restore-block")
			}
			det, err := vmware.DetailsOf(sn.Source)
			if err != nil {
				return err
			}
			if toDS {
				return restoreToDatastore(c, e, cfg, r, sn, det)
			}
			d, st, err := vmware.RestoreDisk(c.Context, r, sn.Tree, det, c.String("disk"), c.String("to"), blockdev.RestoreOptions{})
			if err != nil {
				return err
			}
			return reportImageRestore(e, sn, d.Node, st)
		},
	}
}

// restoreToDatastore is restore-vm --to-datastore.
func restoreToDatastore(c *cli.Context, e *env, cfg vmware.Config, r *repo.Repository, sn *repo.Snapshot, det *vmware.Details) error {
	ctx := c.Context
	vc, err := vmware.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer vc.Logout(context.WithoutCancel(ctx))
	prog := newProgress(e, "upload")
	var total int64
	if d, err := vmware.FindDisk(det, c.String("disk")); err == nil {
		total = d.Capacity
	}
	t := vmware.DatastoreTarget{Datastore: c.String("datastore"), Path: c.String("datastore-path"),
		Tag: sn.ID.Short(), Force: c.Bool("force"), Progress: func(n int64) { prog.update(0, n, 0, total) }}
	d, up, err := vmware.RestoreToDatastore(ctx, vc, r, sn.Tree, det, c.String("disk"), t)
	prog.done()
	if err != nil {
		return err
	}
	if up.Generated {
		e.warnf("the snapshot holds no descriptor for disk %d: wrote one for the capacity\n", d.Key)
	}
	if e.json {
		return e.printJSON(map[string]any{"message_type": "summary", "snapshot_id": sn.ID.String(), "disk": d.Key,
			"descriptor": up.Descriptor, "flat": up.Flat, "size": up.Size, "bytes_written": up.Size})
	}
	e.printf("uploaded disk %d %q of snapshot %s to %s (%s, flat extent %s)\n", d.Key, d.Label, sn.ID.Short(),
		up.Descriptor, humanBytes(up.Size), up.Flat)
	return nil
}

func cmdRestoreBlock() *cli.Command {
	return &cli.Command{
		Name:      "restore-block",
		Usage:     "write the image of a block snapshot to a file or device",
		ArgsUsage: "SNAPSHOT",
		Flags: append(filterFlags(),
			&cli.StringFlag{Name: "to", Required: true, Usage: "write to `FILE` or block device"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore-block needs one snapshot")
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sn, err := findSnapshot(c, r, c.Args().First())
			if err != nil {
				return err
			}
			st, err := blockdev.RestoreFile(c.Context, r, sn.Tree, "", c.String("to"), blockdev.RestoreOptions{})
			if err != nil {
				return err
			}
			return reportImageRestore(e, sn, c.String("to"), st)
		},
	}
}

func reportImageRestore(e *env, sn *repo.Snapshot, name string, st blockdev.RestoreStats) error {
	if e.json {
		return e.printJSON(map[string]any{"message_type": "summary", "snapshot_id": sn.ID.String(),
			"image": name, "size": st.Size, "bytes_written": st.Written})
	}
	e.printf("restored %s (%s, %s written) from snapshot %s\n", name, humanBytes(st.Size), humanBytes(st.Written), sn.ID.Short())
	return nil
}
