package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/sources/blockdev"
	"cairn/sources/vmware"
)

func cmdRestoreVM() *cli.Command {
	return &cli.Command{
		Name:      "restore-vm",
		Usage:     "write one disk of a VM snapshot as a flat image (sparse where zero)",
		ArgsUsage: "SNAPSHOT",
		Flags: append(filterFlags(),
			&cli.StringFlag{Name: "disk", Value: "0", Usage: "disk `N` (position), key=KEY, label or node name"},
			&cli.StringFlag{Name: "to", Required: true, Usage: "write to `FILE` or block device"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore-vm needs one snapshot")
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
			d, st, err := vmware.RestoreDisk(c.Context, r, sn.Tree, det, c.String("disk"), c.String("to"), blockdev.RestoreOptions{})
			if err != nil {
				return err
			}
			return reportImageRestore(e, sn, d.Node, st)
		},
	}
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
