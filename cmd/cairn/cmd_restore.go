package main

import (
	"errors"
	"fmt"
	"path"

	"github.com/urfave/cli/v2"

	"cairn/sources/fs/restore"
)

func parseOverwrite(s string) (restore.Overwrite, error) {
	switch s {
	case "", "always":
		return restore.OverwriteAlways, nil
	case "if-changed":
		return restore.OverwriteIfChanged, nil
	case "if-newer":
		return restore.OverwriteIfNewer, nil
	case "never":
		return restore.OverwriteNever, nil
	}
	return 0, fmt.Errorf("--overwrite: want always, if-changed, if-newer or never, not %q", s)
}

func cmdRestore() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a snapshot (or part of it) into a directory",
		ArgsUsage: "SNAPSHOT[:PATH]",
		Flags: append(filterFlags(),
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "restore into `DIR` (required)"},
			&cli.StringSliceFlag{Name: "include", Aliases: []string{"i"}, Usage: "restore only paths matching `PATTERN`"},
			&cli.StringSliceFlag{Name: "exclude", Aliases: []string{"e"}, Usage: "skip paths matching `PATTERN`"},
			&cli.StringFlag{Name: "overwrite", Value: "always", Usage: "existing files: always, if-changed, if-newer, never"},
			&cli.BoolFlag{Name: "verify", Usage: "re-read restored files and compare with the snapshot"},
			&cli.BoolFlag{Name: "no-sparse", Usage: "write holes as zeros instead of sparse files"},
			&cli.IntFlag{Name: "workers", Usage: "concurrent file writers"},
		),
		Subcommands: []*cli.Command{cmdRestoreDB()}, // cmd_backup_stream.go
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("restore needs one snapshot")
			}
			if c.String("target") == "" { // not Required: that would also bind `restore db`
				return errors.New("restore needs --target DIR")
			}
			ow, err := parseOverwrite(c.String("overwrite"))
			if err != nil {
				return err
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			name, sub := splitSnapshotPath(c.Args().First())
			sn, err := findSnapshot(c, r, name)
			if err != nil {
				return err
			}
			opts := restore.Options{
				Includes:  c.StringSlice("include"),
				Excludes:  c.StringSlice("exclude"),
				Overwrite: ow,
				Verify:    c.Bool("verify"),
				NoSparse:  c.Bool("no-sparse"),
				Workers:   c.Int("workers"),
			}
			if sub != "" && sub != "/" {
				opts.Includes = append(opts.Includes, path.Clean("/"+sub))
			}
			prog := newProgress(e, "restore")
			opts.Progress = func(p restore.Progress) { prog.update(p.Files, p.Bytes, 0, 0) }
			e.printf("restoring snapshot %s of %v at %s to %s\n", sn.ID.Short(), sn.Paths, sn.Time.Local().Format("2006-01-02 15:04:05"), c.String("target"))
			st, err := restore.Restore(c.Context, r, sn.Tree, c.String("target"), opts)
			prog.done()
			if st != nil {
				for _, ferr := range st.Errors {
					e.warnf("error: %v\n", ferr)
				}
				if e.json {
					if jerr := e.printJSON(map[string]any{"message_type": "summary", "snapshot_id": sn.ID.String(), "files": st.Files, "dirs": st.Dirs, "bytes": st.Bytes, "skipped": st.Skipped, "errors": len(st.Errors)}); jerr != nil {
						return jerr
					}
				} else {
					e.printf("restored %d files, %d dirs, %s; skipped %d\n", st.Files, st.Dirs, humanBytes(st.Bytes), st.Skipped)
				}
			}
			return err
		},
	}
}

// splitSnapshotPath splits "id:/some/path".
func splitSnapshotPath(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func cmdDump() *cli.Command {
	return &cli.Command{
		Name:      "dump",
		Usage:     "write a file of a snapshot to stdout, or a directory as tar",
		ArgsUsage: "SNAPSHOT PATH",
		Flags:     filterFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 && c.NArg() != 2 {
				return errors.New("dump needs a snapshot and a path (the path may be left out for a stdin or db snapshot)")
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sn, err := findSnapshot(c, r, c.Args().Get(0))
			if err != nil {
				return err
			}
			if c.NArg() == 1 {
				return dumpStream(c, e, r, sn) // cmd_backup_stream.go
			}
			return restore.Dump(c.Context, r, sn.Tree, path.Clean("/"+c.Args().Get(1)), e.stdout)
		},
	}
}
