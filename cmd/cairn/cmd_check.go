package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/repo/check"
)

func cmdCheck() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "verify the repository's structure and, optionally, its data",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "read-data", Usage: "read and verify every pack"},
			&cli.StringFlag{Name: "read-data-subset", Usage: "read only `n/m`, `x%` or `SIZE` worth of packs (least recently verified first)"},
			&cli.DurationFlag{Name: "max-duration", Usage: "stop reading data after `DURATION`; later runs continue with the packs not yet verified"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			lock, err := r.Lock(c.Context, repo.LockShared, "check")
			if err != nil {
				return err
			}
			defer lock.Unlock()
			readData := c.Bool("read-data") || c.String("read-data-subset") != ""
			opts := check.DataOptions{Subset: check.Subset{All: true}, MaxDuration: c.Duration("max-duration"), Workers: 2}
			if s := c.String("read-data-subset"); s != "" {
				if opts.Subset, err = check.ParseSubset(s); err != nil {
					return err
				}
			}
			if dir := r.CacheDir(); dir != "" {
				opts.StatePath = filepath.Join(dir, "check-verified")
			}
			start := time.Now()
			rep, err := check.Run(c.Context, r, readData, opts)
			if err != nil {
				return err
			}
			if e.json {
				if err := e.printJSON(rep); err != nil {
					return err
				}
			} else {
				e.printf("checked %d snapshots, %d trees, %d blobs in %d packs", rep.Snapshots, rep.Trees, rep.Blobs, rep.Packs)
				if readData {
					e.printf("; read %d packs (%s) at %s/s", rep.PacksRead, humanBytes(rep.BytesRead), humanBytes(int64(float64(rep.BytesRead)/max(time.Since(start).Seconds(), 0.001))))
				}
				e.printf("\n")
				if rep.TimedOut {
					e.printf("stopped after --max-duration; the next run continues with packs not yet verified\n")
				}
				for _, p := range rep.Problems {
					e.printf("error: %s\n", p.Message)
				}
				for _, id := range rep.UnindexedPacks {
					e.printf("note: pack %s is not in any index (left by an interrupted backup, or its index was lost: prune deletes it, `repair index` adopts it)\n", id[:8])
				}
				for _, a := range rep.Affected {
					e.printf("damaged: snapshot %s: %s\n", a.Snapshot[:8], a.Path)
				}
			}
			if !rep.Clean() {
				return &exitErr{code: exitError, err: errNotClean(len(rep.Problems))}
			}
			e.printf("no errors were found\n")
			return nil
		},
	}
}

type errNotClean int

func (n errNotClean) Error() string { return fmt.Sprintf("check found %d problem(s)", int(n)) }
