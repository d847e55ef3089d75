package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
)

// snapshotJSON is the --json form of a snapshot: the stored fields plus id.
type snapshotJSON struct {
	*repo.Snapshot
	ID      string `json:"id"`
	ShortID string `json:"short_id"`
}

func toJSON(sn *repo.Snapshot) snapshotJSON {
	return snapshotJSON{Snapshot: sn, ID: sn.ID.String(), ShortID: sn.ID.Short()}
}

func cmdSnapshots() *cli.Command {
	return &cli.Command{
		Name:  "snapshots",
		Usage: "list snapshots",
		Flags: append(filterFlags(), &cli.IntFlag{Name: "latest", Usage: "only the newest `N` snapshots per host and paths"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sns, err := selectSnapshots(c, r, nil)
			if err != nil {
				return err
			}
			if n := c.Int("latest"); n > 0 {
				sns = latestPerGroup(sns, n)
			}
			if e.json {
				out := make([]snapshotJSON, 0, len(sns))
				for _, sn := range sns {
					out = append(out, toJSON(sn))
				}
				return e.printJSON(out)
			}
			if e.quiet {
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTime\tHost\tKind\tTags\tPaths\tSize")
			for _, sn := range sns {
				size := ""
				if sn.Summary != nil {
					size = humanBytes(sn.Summary.TotalBytes)
				}
				flags := ""
				if sn.Partial {
					flags += " (partial)"
				}
				if sn.Repaired {
					flags += " (repaired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", sn.ID.Short(), sn.Time.Local().Format(time.DateTime), sn.Host, sn.Kind,
					strings.Join(sn.Tags, ","), strings.Join(sn.Paths, ","), size, flags)
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d snapshots\n", len(sns))
			return nil
		},
	}
}

func latestPerGroup(sns []*repo.Snapshot, n int) []*repo.Snapshot {
	count := map[string]int{}
	keep := map[*repo.Snapshot]bool{}
	for i := len(sns) - 1; i >= 0; i-- {
		k := sns[i].Host + "\x00" + strings.Join(sns[i].Paths, "\x00")
		if count[k] < n {
			count[k]++
			keep[sns[i]] = true
		}
	}
	var out []*repo.Snapshot
	for _, sn := range sns {
		if keep[sn] {
			out = append(out, sn)
		}
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
