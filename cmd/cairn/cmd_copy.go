package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	copypkg "cairn/repo/copy"
)

// copyResultJSON is the final object of `copy --json`.
type copyResultJSON struct {
	MessageType     string            `json:"message_type"`
	Copied          map[string]string `json:"copied"` // source id → destination id
	Skipped         []string          `json:"skipped"`
	BlobsLoaded     int64             `json:"blobs_loaded"`
	BlobsTranslated int64             `json:"blobs_translated"`
	BytesLoaded     int64             `json:"bytes_loaded"`
	BytesAdded      int64             `json:"bytes_added"`
}

func cmdCopy() *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Usage:     "copy snapshots from another repository into this one",
		ArgsUsage: "[SNAPSHOT...]",
		Description: "Copies the given snapshots (default: all, narrowed by --host, --tag, --path) from\n" +
			"--from-repo into the repository given by -r. Snapshots copied before are skipped.\n" +
			"Data deduplicates against this repository when both use the same chunker\n" +
			"parameters (init --copy-chunker-params-from). See docs/copy.md.",
		Flags: append(filterFlags(),
			&cli.StringFlag{Name: "from-repo", EnvVars: []string{"CAIRN_FROM_REPOSITORY"}, Usage: "source repository `URL`", Required: true},
			&cli.StringFlag{Name: "from-password-file", EnvVars: []string{"CAIRN_FROM_PASSWORD_FILE"}, Usage: "read the source repository's password from `FILE` (or CAIRN_FROM_PASSWORD)"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			src, err := openCopySource(e)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer dst.Close()
			if src.Config().ID == dst.Config().ID {
				return errors.New("source and destination are the same repository")
			}
			if src.ChunkerParams() != dst.ChunkerParams() {
				e.warnf("warning: chunker parameters differ: copied data will not deduplicate against this repository's own backups (see init --copy-chunker-params-from)\n")
			}
			sl, err := src.Lock(c.Context, repo.LockShared, "copy (source)")
			if err != nil {
				return err
			}
			defer sl.Unlock()
			dl, err := dst.Lock(c.Context, repo.LockShared, "copy")
			if err != nil {
				return err
			}
			defer dl.Unlock()
			// As backup does: sync under the lock, so a prune's deletion
			// records are seen or our lock is older than them.
			if err := dst.SyncIndex(c.Context); err != nil {
				return err
			}
			sns, err := copySelection(c, src)
			if err != nil {
				return err
			}
			res, err := copypkg.Copy(c.Context, src, dst, sns, copypkg.Options{
				Copied: func(s, d *repo.Snapshot) {
					if d == nil {
						e.printf("snapshot %s of %s at %s: already copied\n", s.ID.Short(), s.Host, s.Time.Format("2006-01-02 15:04:05"))
					} else {
						e.printf("snapshot %s of %s at %s: copied as %s\n", s.ID.Short(), s.Host, s.Time.Format("2006-01-02 15:04:05"), d.ID.Short())
					}
				},
			})
			if err != nil {
				return err
			}
			added := dst.Stats().BytesAdded
			if e.json {
				out := copyResultJSON{MessageType: "summary", Copied: map[string]string{}, Skipped: []string{},
					BlobsLoaded: res.BlobsLoaded, BlobsTranslated: res.BlobsTranslated, BytesLoaded: res.BytesLoaded, BytesAdded: added}
				for _, p := range res.Copied {
					out.Copied[p.Src.String()] = p.Dst.String()
				}
				for _, id := range res.Skipped {
					out.Skipped = append(out.Skipped, id.String())
				}
				return e.printJSON(out)
			}
			e.printf("copied %d snapshots (%d already present); read %s from the source, added %s\n",
				len(res.Copied), len(res.Skipped), humanBytes(res.BytesLoaded), humanBytes(added))
			return nil
		},
	}
}

// openCopySource opens --from-repo with its own password.
func openCopySource(e *env) (*repo.Repository, error) {
	loc := e.c.String("from-repo")
	be, err := e.openBackendAt(loc, false)
	if err != nil {
		return nil, err
	}
	pw, ok := lookupEnv("CAIRN_FROM_PASSWORD")
	if f := e.c.String("from-password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			be.Close()
			return nil, fmt.Errorf("read source password file: %w", err)
		}
		pw, ok = firstLine(b), true
	}
	if !ok {
		be.Close()
		return nil, fmt.Errorf("no password for %s: use --from-password-file or CAIRN_FROM_PASSWORD", loc)
	}
	r, err := repo.Open(e.c.Context, be, pw, e.repoOptions())
	if err != nil {
		be.Close()
		return nil, fmt.Errorf("source: %w", err)
	}
	return r, nil
}

// copySelection returns the named snapshots, or all that match the filter.
func copySelection(c *cli.Context, src *repo.Repository) ([]*repo.Snapshot, error) {
	f := snapshotFilter(c)
	if c.NArg() > 0 {
		var out []*repo.Snapshot
		for _, name := range c.Args().Slice() {
			sn, err := src.FindSnapshot(c.Context, name, f)
			if err != nil {
				return nil, err
			}
			out = append(out, sn)
		}
		return out, nil
	}
	all, err := src.Snapshots(c.Context)
	if err != nil {
		return nil, err
	}
	var out []*repo.Snapshot
	for _, sn := range all {
		if f.Match(sn) {
			out = append(out, sn)
		}
	}
	return out, nil
}
