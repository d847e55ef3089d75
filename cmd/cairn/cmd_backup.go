package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/sources/fs"
)

// backupSummaryJSON is the final object of `backup --json`, the same for
// every source.
type backupSummaryJSON struct {
	MessageType string `json:"message_type"`
	SnapshotID  string `json:"snapshot_id"`
	Parent      string `json:"parent,omitempty"`
	Partial     bool   `json:"partial"`
	repo.Summary
}

func cmdBackup() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "back up files and directories",
		ArgsUsage: "PATH...",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "exclude", Aliases: []string{"e"}, Usage: "exclude `PATTERN`"},
			&cli.StringSliceFlag{Name: "exclude-file", Usage: "read exclude patterns from `FILE`"},
			&cli.BoolFlag{Name: "exclude-caches", Usage: "skip the contents of directories holding a CACHEDIR.TAG"},
			&cli.BoolFlag{Name: "one-file-system", Aliases: []string{"x"}, Usage: "do not cross file system boundaries"},
			&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to the snapshot"},
			&cli.StringFlag{Name: "host", Usage: "record `HOST` instead of the host name"},
			&cli.StringFlag{Name: "parent", Usage: "use `SNAPSHOT` as parent instead of the latest of the same host and paths"},
			&cli.BoolFlag{Name: "force", Usage: "read every file, ignoring the parent snapshot"},
			&cli.IntFlag{Name: "workers", Usage: "concurrent file workers (default: number of CPUs)"},
		}, streamFlags()...),
		Subcommands: backupSubcommands(), // db, docker: cmd_backup_stream.go
		Action: func(c *cli.Context) error {
			if isStreamBackup(c) {
				return backupStream(c, c.Args().Slice())
			}
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("backup needs at least one path")
			}
			paths := make([]string, 0, c.NArg())
			for _, p := range c.Args().Slice() {
				a, err := filepath.Abs(p)
				if err != nil {
					return err
				}
				paths = append(paths, a)
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			lock, err := r.Lock(c.Context, repo.LockShared, "backup")
			if err != nil {
				return err
			}
			defer lock.Unlock()
			// Sync again under the lock: a backup either sees prune's
			// deletion records or holds a lock older than them.
			if err := r.SyncIndex(c.Context); err != nil {
				return err
			}

			start := time.Now()
			sn := repo.NewSnapshot(start, repo.KindFS, paths)
			if h := c.String("host"); h != "" {
				sn.Host = h
			}
			sn.Tags = c.StringSlice("tag")
			var parent *repo.Snapshot
			switch {
			case c.Bool("force"):
			case c.String("parent") != "":
				if parent, err = r.FindSnapshot(c.Context, c.String("parent"), repo.Filter{}); err != nil {
					return err
				}
			default:
				if parent, err = r.FindParent(c.Context, sn.Host, repo.KindFS, sn.Paths); err != nil {
					return err
				}
			}
			opts := fs.Options{
				Chunker:       r.ChunkerParams(),
				Excludes:      c.StringSlice("exclude"),
				ExcludeFiles:  c.StringSlice("exclude-file"),
				ExcludeCaches: c.Bool("exclude-caches"),
				OneFileSystem: c.Bool("one-file-system"),
				Workers:       c.Int("workers"),
			}
			if parent != nil {
				opts.ParentRoot = &parent.Tree
				sn.Parent = &parent.ID
				e.printf("using parent snapshot %s\n", parent.ID.Short())
			}
			prog := newProgress(e, "backup")
			if prog.on { // the archiver pre-scans for totals only when asked
				opts.Progress = func(p fs.Progress) { prog.update(p.FilesDone, p.BytesDone, p.TotalFiles, p.TotalBytes) }
			}
			res, err := fs.Backup(c.Context, r, paths, opts)
			prog.done()
			if err != nil {
				return err
			}
			for _, ferr := range res.Stats.Errors {
				e.warnf("error: %v\n", ferr)
			}
			if err := r.Flush(c.Context); err != nil {
				return err
			}
			rs := r.Stats()
			st := res.Stats
			sn.Tree = res.Root
			sn.Partial = res.Partial
			sn.Summary = &repo.Summary{
				FilesNew: st.FilesNew, FilesChanged: st.FilesChanged, FilesUnmodified: st.FilesUnmodified,
				DirsNew: st.DirsNew, DirsChanged: st.DirsChanged, DirsUnmodified: st.DirsUnmodified,
				TotalFiles: st.TotalFiles, TotalBytes: st.TotalBytes, BytesRead: st.BytesRead,
				BytesAdded: rs.BytesAdded, BytesAddedRaw: rs.BytesAddedRaw, BlobsNew: rs.BlobsNew,
				Errors: int64(len(st.Errors)), DurationSeconds: time.Since(start).Seconds(),
			}
			id, err := r.SaveSnapshot(c.Context, sn)
			if err != nil {
				return err
			}
			if err := reportBackup(e, sn); err != nil {
				return err
			}
			_ = id
			if sn.Partial {
				e.warnf("warning: %d files could not be read; snapshot %s is partial\n", len(st.Errors), sn.ID.Short())
				return &exitErr{code: exitPartial}
			}
			return nil
		},
	}
}

// reportBackup prints the summary of any source's backup.
func reportBackup(e *env, sn *repo.Snapshot) error {
	s := sn.Summary
	if e.json {
		out := backupSummaryJSON{MessageType: "summary", SnapshotID: sn.ID.String(), Partial: sn.Partial, Summary: *s}
		if sn.Parent != nil {
			out.Parent = sn.Parent.String()
		}
		return e.printJSON(out)
	}
	e.printf("Files:       %d new, %d changed, %d unmodified\n", s.FilesNew, s.FilesChanged, s.FilesUnmodified)
	e.printf("Dirs:        %d new, %d changed, %d unmodified\n", s.DirsNew, s.DirsChanged, s.DirsUnmodified)
	e.printf("Read %s of %s; added %s to the repository (%s before compression)\n",
		humanBytes(s.BytesRead), humanBytes(s.TotalBytes), humanBytes(s.BytesAdded), humanBytes(s.BytesAddedRaw))
	e.printf("processed %d files in %.2fs\n", s.TotalFiles, s.DurationSeconds)
	e.printf("snapshot %s saved\n", sn.ID.Short())
	return nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
