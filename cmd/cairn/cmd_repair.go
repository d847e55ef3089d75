package main

import (
	"github.com/urfave/cli/v2"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/check"
	"cairn/repo/repair"
)

func cmdRepair() *cli.Command {
	dry := &cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "report, change nothing"}
	withRepo := func(fn func(c *cli.Context, e *env, r *repo.Repository) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			if !c.Bool("dry-run") {
				lock, err := r.Lock(c.Context, repo.LockExclusive, "repair")
				if err != nil {
					return err
				}
				defer lock.Unlock()
			}
			return fn(c, e, r)
		}
	}
	return &cli.Command{
		Name:  "repair",
		Usage: "rebuild the index, rewrite snapshots around lost data, salvage damaged packs",
		Subcommands: []*cli.Command{
			{
				Name: "index", Usage: "rebuild the index from the packs' own headers", Flags: []cli.Flag{dry},
				Action: withRepo(func(c *cli.Context, e *env, r *repo.Repository) error {
					res, err := repair.RebuildIndex(c.Context, r, c.Bool("dry-run"))
					if err != nil {
						return err
					}
					if e.json {
						return e.printJSON(res)
					}
					e.printf("indexed %d blobs in %d packs (%d read front to back)\n", res.Blobs, res.Packs, res.Scanned)
					for _, p := range res.Truncated {
						e.printf("pack %s is damaged: only the blobs before the damage were indexed (run `repair packs`)\n", p[:8])
					}
					for _, u := range res.Unusable {
						e.printf("unusable pack %s\n", u)
					}
					return nil
				}),
			},
			{
				Name: "snapshots", Usage: "rewrite snapshots that reference lost data (lost chunks read as zeros, marked)", Flags: []cli.Flag{dry},
				Action: withRepo(func(c *cli.Context, e *env, r *repo.Repository) error {
					res, err := repair.RepairSnapshots(c.Context, r, c.Bool("dry-run"))
					if err != nil {
						return err
					}
					if e.json {
						return e.printJSON(res)
					}
					for _, d := range res.Damage {
						e.printf("snapshot %s: %s: %s\n", d.Snapshot[:8], d.Path, d.What)
					}
					e.printf("checked %d snapshots, repaired %d\n", res.Checked, res.Repaired)
					return nil
				}),
			},
			{
				Name: "packs", Usage: "salvage the intact blobs of damaged packs (found by reading all data, or named)", ArgsUsage: "[PACK-ID...]", Flags: []cli.Flag{dry},
				Action: withRepo(func(c *cli.Context, e *env, r *repo.Repository) error {
					var ids []crypto.ID
					for _, a := range c.Args().Slice() {
						id, err := crypto.ParseID(a)
						if err != nil {
							return err
						}
						ids = append(ids, id)
					}
					if len(ids) == 0 {
						rep, err := check.Run(c.Context, r, true, check.DataOptions{Subset: check.Subset{All: true}})
						if err != nil {
							return err
						}
						seen := map[string]bool{}
						for _, p := range rep.Problems {
							if p.Pack != "" && !seen[p.Pack] && (p.Kind == "damaged_pack" || p.Kind == "damaged_blob") {
								seen[p.Pack] = true
								id, err := crypto.ParseID(p.Pack)
								if err == nil {
									ids = append(ids, id)
								}
							}
						}
					}
					res, err := repair.SalvagePacks(c.Context, r, ids, c.Bool("dry-run"))
					if err != nil {
						return err
					}
					if e.json {
						return e.printJSON(res)
					}
					e.printf("%d damaged packs: salvaged %d blobs, lost %d (run `repair snapshots` if any were lost)\n", res.Packs, res.Salvaged, res.Lost)
					return nil
				}),
			},
		},
	}
}
