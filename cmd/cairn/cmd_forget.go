package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/repo/prune"
	"cairn/repo/retention"
)

func keepFlags() []cli.Flag {
	intf := func(name, usage string) cli.Flag {
		return &cli.IntFlag{Name: name, Usage: usage + " (-1: unlimited)"}
	}
	durf := func(name, usage string) cli.Flag {
		return &cli.StringFlag{Name: name, Usage: usage + " (e.g. 1y2m3d4h)"}
	}
	return []cli.Flag{
		intf("keep-last", "keep the `N` newest snapshots"),
		intf("keep-hourly", "keep the newest snapshot of each of the last `N` hours"),
		intf("keep-daily", "keep the newest snapshot of each of the last `N` days"),
		intf("keep-weekly", "keep the newest snapshot of each of the last `N` weeks"),
		intf("keep-monthly", "keep the newest snapshot of each of the last `N` months"),
		intf("keep-yearly", "keep the newest snapshot of each of the last `N` years"),
		durf("keep-within", "keep snapshots newer than `DURATION` before the newest"),
		durf("keep-within-hourly", "keep hourly snapshots within `DURATION`"),
		durf("keep-within-daily", "keep daily snapshots within `DURATION`"),
		durf("keep-within-weekly", "keep weekly snapshots within `DURATION`"),
		durf("keep-within-monthly", "keep monthly snapshots within `DURATION`"),
		durf("keep-within-yearly", "keep yearly snapshots within `DURATION`"),
		&cli.StringSliceFlag{Name: "keep-tag", Usage: "keep snapshots with `TAG[,TAG]`"},
		&cli.StringFlag{Name: "group-by", Value: "host,paths", Usage: "group snapshots by `host,paths,tags` (any subset)"},
	}
}

func policyFromFlags(c *cli.Context) (retention.Policy, error) {
	p := retention.Policy{
		Last: c.Int("keep-last"), Hourly: c.Int("keep-hourly"), Daily: c.Int("keep-daily"),
		Weekly: c.Int("keep-weekly"), Monthly: c.Int("keep-monthly"), Yearly: c.Int("keep-yearly"),
	}
	for name, dst := range map[string]*retention.Duration{
		"keep-within": &p.Within, "keep-within-hourly": &p.WithinHourly, "keep-within-daily": &p.WithinDaily,
		"keep-within-weekly": &p.WithinWeekly, "keep-within-monthly": &p.WithinMonthly, "keep-within-yearly": &p.WithinYearly,
	} {
		if s := c.String(name); s != "" {
			d, err := retention.ParseDuration(s)
			if err != nil {
				return p, fmt.Errorf("--%s: %w", name, err)
			}
			*dst = d
		}
	}
	for _, t := range c.StringSlice("keep-tag") {
		p.Tags = append(p.Tags, retention.ParseTags(t))
	}
	return p, p.Validate()
}

func pruneFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Float64Flag{Name: "max-unused", Value: 5, Usage: "repack packs with more than `PERCENT` unused bytes"},
		&cli.StringFlag{Name: "max-repack-size", Usage: "repack at most `SIZE` (e.g. 2G) per run"},
		&cli.DurationFlag{Name: "grace", Value: prune.DefaultGrace, Usage: "delete packs marked unused at least `DURATION` ago"},
		&cli.DurationFlag{Name: "skew-margin", Value: prune.DefaultSkewMargin, Usage: "clock difference between hosts to tolerate"},
	}
}

func cmdForget() *cli.Command {
	return &cli.Command{
		Name:      "forget",
		Usage:     "remove snapshots by id or by retention policy (data is removed by prune)",
		ArgsUsage: "[SNAPSHOT...]",
		Flags: append(append(append(filterFlags(), keepFlags()...),
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print what would be kept and removed, change nothing"},
			&cli.BoolFlag{Name: "prune", Usage: "run prune afterwards"}), pruneFlags()...),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			var lock *repo.Lock
			if !c.Bool("dry-run") {
				if lock, err = r.Lock(c.Context, repo.LockMaintenance, "forget"); err != nil {
					return err
				}
				defer lock.Unlock()
			}
			remove, err := forgetPlan(c, e, r)
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				e.printf("would remove %d snapshots (dry run)\n", len(remove))
				return nil
			}
			for _, sn := range remove {
				if err := r.RemoveSnapshot(c.Context, sn.ID); err != nil {
					return err
				}
			}
			e.printf("removed %d snapshots\n", len(remove))
			if c.Bool("prune") {
				return runPrune(c, e, r, false)
			}
			return nil
		},
	}
}

// forgetPlan returns the snapshots to remove: the named ones, or those the
// policy does not keep; it prints the plan.
func forgetPlan(c *cli.Context, e *env, r *repo.Repository) ([]*repo.Snapshot, error) {
	if c.NArg() > 0 {
		var out []*repo.Snapshot
		for _, name := range c.Args().Slice() {
			sn, err := findSnapshot(c, r, name)
			if err != nil {
				return nil, err
			}
			out = append(out, sn)
		}
		return out, nil
	}
	pol, err := policyFromFlags(c)
	if err != nil {
		return nil, err
	}
	if pol.Empty() {
		return nil, errors.New("no policy given: use --keep-* flags or name snapshots (refusing to remove everything)")
	}
	gb, err := retention.ParseGroupBy(c.String("group-by"))
	if err != nil {
		return nil, err
	}
	all, err := r.Snapshots(c.Context)
	if err != nil {
		return nil, err
	}
	f := snapshotFilter(c)
	byID := map[string]*repo.Snapshot{}
	var items []retention.Item
	for _, sn := range all {
		if !f.Match(sn) {
			continue
		}
		byID[sn.ID.String()] = sn
		items = append(items, retention.Item{ID: sn.ID.String(), Time: sn.Time, Host: sn.Host, Paths: sn.Paths, Tags: sn.Tags})
	}
	if len(items) == 0 {
		return nil, nil
	}
	groups, err := retention.Apply(items, pol, gb, r.Now())
	if err != nil {
		return nil, err
	}
	var out []*repo.Snapshot
	for _, g := range groups {
		if e.json {
			if err := e.printJSON(g); err != nil {
				return nil, err
			}
		} else {
			e.printf("snapshots for %s: keeping %d, removing %d\n", orAll(g.Key.String()), len(g.Keep), len(g.Remove))
			for _, d := range g.Keep {
				e.printf("  keep    %s  %s  %s\n", d.Item.ID[:8], d.Item.Time.Local().Format(time.DateTime), strings.Join(d.Reasons, ", "))
			}
			for _, d := range g.Remove {
				e.printf("  remove  %s  %s\n", d.Item.ID[:8], d.Item.Time.Local().Format(time.DateTime))
			}
		}
		for _, d := range g.Remove {
			out = append(out, byID[d.Item.ID])
		}
	}
	return out, nil
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}
