package main

import (
	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/repo/check"
	"cairn/repo/prune"
)

func cmdPrune() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove data no snapshot references (two-phase: packs are deleted by a later run, after --grace)",
		Flags: append(pruneFlags(), &cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan, change nothing"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			if !c.Bool("dry-run") {
				lock, err := r.Lock(c.Context, repo.LockMaintenance, "prune")
				if err != nil {
					return err
				}
				defer lock.Unlock()
			}
			return runPrune(c, e, r, c.Bool("dry-run"))
		},
	}
}

func runPrune(c *cli.Context, e *env, r *repo.Repository, dryRun bool) error {
	opts := prune.Options{MaxUnused: c.Float64("max-unused") / 100, Grace: c.Duration("grace"), SkewMargin: c.Duration("skew-margin")}
	if s := c.String("max-repack-size"); s != "" {
		sub, err := check.ParseSubset(s)
		if err != nil || sub.Bytes == 0 {
			return err
		}
		opts.MaxRepackSize = sub.Bytes
	}
	plan, err := prune.PlanPrune(c.Context, r, opts)
	if err != nil {
		return err
	}
	if e.json && dryRun {
		return e.printJSON(plan)
	}
	e.printf("%d snapshots reference %d blobs; %d packs (%s) indexed\n", plan.Snapshots, plan.Used, plan.Packs, humanBytes(plan.TotalSize))
	e.printf("phase 2: %d due deletion records: delete %d packs (%s), keep %d packs that are used again\n", len(plan.DueRecords), len(plan.Delete), humanBytes(plan.DeleteSize), len(plan.Revive))
	for name, why := range plan.Postponed {
		e.printf("  postponed record %s: %s\n", name[:8], why)
	}
	e.printf("phase 1: mark %d unused and %d unindexed packs (%s) for deletion, repack %d packs (%s of used data)\n",
		len(plan.Unused), len(plan.Unindexed), humanBytes(plan.UnusedSize), len(plan.Repack), humanBytes(plan.RepackSize))
	if dryRun {
		e.printf("dry run: nothing changed\n")
		return nil
	}
	res, err := prune.Execute(c.Context, r, plan)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(res)
	}
	e.printf("deleted %d packs (%s), marked %d packs, repacked %d blobs\n", res.PacksDeleted, humanBytes(res.BytesDeleted), res.PacksMarked, res.BlobsRepacked)
	return nil
}
