package main

import (
	"errors"
	"sort"

	"github.com/urfave/cli/v2"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/walk"
)

func cmdTag() *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "add, remove or set tags of snapshots",
		ArgsUsage: "SNAPSHOT...",
		Flags: append(filterFlags(),
			&cli.StringSliceFlag{Name: "add", Usage: "add `TAG`"},
			&cli.StringSliceFlag{Name: "remove", Usage: "remove `TAG`"},
			&cli.StringSliceFlag{Name: "set", Usage: "replace all tags by `TAG`s"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("tag needs snapshots")
			}
			if len(c.StringSlice("add"))+len(c.StringSlice("remove"))+len(c.StringSlice("set")) == 0 {
				return errors.New("tag needs --add, --remove or --set")
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			lock, err := r.Lock(c.Context, repo.LockShared, "tag")
			if err != nil {
				return err
			}
			defer lock.Unlock()
			changed := 0
			for _, name := range c.Args().Slice() {
				sn, err := findSnapshot(c, r, name)
				if err != nil {
					return err
				}
				old := sn.ID
				tags := map[string]bool{}
				if set := c.StringSlice("set"); len(set) > 0 {
					for _, t := range set {
						tags[t] = true
					}
				} else {
					for _, t := range sn.Tags {
						tags[t] = true
					}
				}
				for _, t := range c.StringSlice("add") {
					tags[t] = true
				}
				for _, t := range c.StringSlice("remove") {
					delete(tags, t)
				}
				sn.Tags = sn.Tags[:0]
				for t := range tags {
					sn.Tags = append(sn.Tags, t)
				}
				sort.Strings(sn.Tags)
				orig := old
				if sn.Original == nil {
					sn.Original = &orig
				}
				// The new snapshot is written before the old one is removed,
				// so a crash leaves two snapshots, never none.
				id, err := r.SaveSnapshot(c.Context, sn)
				if err != nil {
					return err
				}
				if id != old {
					if err := r.RemoveSnapshot(c.Context, old); err != nil {
						return err
					}
					changed++
				}
				e.printf("snapshot %s -> %s\n", old.Short(), id.Short())
			}
			e.printf("modified %d snapshots\n", changed)
			return nil
		},
	}
}

func cmdStats() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show restore size, stored size and deduplication of snapshots",
		ArgsUsage: "[SNAPSHOT...]",
		Flags:     filterFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sns, err := selectSnapshots(c, r, c.Args().Slice())
			if err != nil {
				return err
			}
			var st walk.Stats
			seen := map[crypto.ID]bool{}
			for _, sn := range sns {
				if err := walk.Accumulate(c.Context, r, sn.Tree, seen, &st); err != nil {
					return err
				}
			}
			st.Finish()
			if e.json {
				return e.printJSON(st)
			}
			e.printf("snapshots:         %d\n", st.Snapshots)
			e.printf("files:             %d (dirs %d)\n", st.Files, st.Dirs)
			e.printf("restore size:      %s\n", humanBytes(st.RestoreSize))
			e.printf("unique data (raw): %s\n", humanBytes(st.UniqueRaw))
			e.printf("stored size:       %s in %d blobs\n", humanBytes(st.StoredSize), st.Blobs)
			e.printf("dedup ratio:       %.2fx\n", st.DedupRatio)
			e.printf("compression ratio: %.2fx\n", st.CompressionRatio)
			return nil
		},
	}
}

func cmdUnlock() *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "remove stale locks (of dead processes or older than 30 minutes)",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "remove-all", Usage: "remove all locks, even live ones"}},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			n, err := r.RemoveLocks(c.Context, c.Bool("remove-all"))
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(map[string]int{"removed": n})
			}
			e.printf("removed %d lock%s\n", n, map[bool]string{true: "", false: "s"}[n == 1])
			return nil
		},
	}
}
