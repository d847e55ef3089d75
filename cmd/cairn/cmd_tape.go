package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/retention"
	"cairn/tapeio"
	"cairn/tapeio/export"
	"cairn/tapeio/open"
	"cairn/tapeio/scan"
	"cairn/tapeio/volume"
)

func cmdTape() *cli.Command {
	return &cli.Command{
		Name:  "tape",
		Usage: "export snapshots to tape volumes, rebuild a repository from them, verify and list them",
		Description: "Drives and changers are URLs: st:/dev/nst0, file:/path/vol.vtape?capacity=64MiB,\n" +
			"dir:/path?slots=8&capacity=64MiB (see docs/tape.md). --drive may be repeated: one volume each.",
		Subcommands: []*cli.Command{cmdTapeLabel(), cmdTapeExport(), cmdTapeRestore(), cmdTapeScan(), cmdTapeVerify(), cmdTapeList(), cmdTapeStatus()},
	}
}

func mediaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "drive", Usage: "drive `URL`; repeat for one volume per drive URL, in order"},
		&cli.StringFlag{Name: "changer", Usage: "changer `URL`: all its slots are offered, in slot order"},
	}
}

// openMedia opens the --changer or the --drive list. Reading commands open
// emulator volumes read-only, so that a mistyped path is "no medium"
// rather than a new blank volume.
func openMedia(e *env, readOnly bool) (export.Media, error) {
	c := e.c
	if u := c.String("changer"); u != "" {
		if len(c.StringSlice("drive")) > 0 {
			return nil, errors.New("give --drive or --changer, not both")
		}
		if readOnly {
			u = withReadOnly(u, "dir")
		}
		ch, err := open.Changer(u)
		if err != nil {
			return nil, err
		}
		m, err := export.NewChangerMedia(ch)
		if err != nil {
			ch.Close()
			return nil, err
		}
		return m, nil
	}
	urls := c.StringSlice("drive")
	if len(urls) == 0 {
		return nil, errors.New("no tape given: use --drive URL (repeatable) or --changer URL")
	}
	if readOnly {
		for i := range urls {
			urls[i] = withReadOnly(urls[i], "file")
		}
	}
	m := export.NewDriveMedia(urls, open.Drive)
	if strings.HasPrefix(urls[len(urls)-1], "st:") && term.IsTerminal(int(os.Stdin.Fd())) {
		m.Prompt = func(ctx context.Context, name string, i int) error {
			fmt.Fprintf(e.stderr, "load cartridge %d into %s and press Enter (Ctrl-C to stop) ", i+1, name)
			_, err := bufio.NewReader(os.Stdin).ReadString('\n')
			return err
		}
	}
	return m, nil
}

// withReadOnly adds readonly to an emulator URL of the given scheme.
func withReadOnly(raw, scheme string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != scheme || u.Query().Has("readonly") {
		return raw
	}
	if strings.Contains(raw, "?") {
		return raw + "&readonly"
	}
	return raw + "?readonly"
}

func cmdTapeLabel() *cli.Command {
	return &cli.Command{
		Name:  "label",
		Usage: "label blank volumes (each --drive, or the --slot of a changer) for a new or an existing media set",
		Flags: append(mediaFlags(),
			&cli.IntSliceFlag{Name: "slot", Usage: "changer slot `N` to label (repeatable; required with --changer)"},
			&cli.StringFlag{Name: "media-set", Usage: "join the media set `ID` (default: start a new one)"},
			&cli.IntFlag{Name: "seq", Usage: "sequence `N` of the first volume (default: 1, or the next free number of the joined set)"},
			&cli.StringFlag{Name: "block-size", Value: "256KiB", Usage: "block `SIZE` recorded in the label"},
			&cli.BoolFlag{Name: "force", Usage: "relabel volumes that hold data (destroys it)"},
		),
		Action: tapeLabel,
	}
}

func tapeLabel(c *cli.Context) error {
	e := newEnv(c)
	bs, err := open.ParseSize(c.String("block-size"))
	if err != nil {
		return fmt.Errorf("--block-size: %w", err)
	}
	opts := export.LabelOptions{Seq: c.Int("seq"), BlockSize: int(bs), Force: c.Bool("force")}
	opts.Host, _ = os.Hostname()
	if s := c.String("media-set"); s != "" {
		if opts.MediaSet, err = volume.ParseID(s); err != nil {
			return fmt.Errorf("--media-set: %w", err)
		}
	}
	m, err := openMedia(e, false)
	if err != nil {
		return err
	}
	defer m.Close()
	var targets []int
	if cm, ok := m.(*export.ChangerMedia); ok {
		for _, slot := range c.IntSlice("slot") {
			i, ok := cm.Index(slot)
			if !ok {
				return fmt.Errorf("--slot %d: no cartridge in that slot", slot)
			}
			targets = append(targets, i)
		}
		if len(targets) == 0 {
			return errors.New("--changer needs --slot N (repeatable): the slots to label")
		}
	} else {
		if len(c.IntSlice("slot")) > 0 {
			return errors.New("--slot goes with --changer")
		}
		for i := range c.StringSlice("drive") {
			targets = append(targets, i)
		}
	}
	done, err := export.Label(c.Context, m, targets, opts)
	if e.json {
		if jerr := e.printJSON(done); jerr != nil {
			return jerr
		}
	} else {
		for _, l := range done {
			e.printf("%s: labelled volume %d of media set %s (volume id %s, block size %d); was %s\n", l.Medium, l.Label.Seq, l.Label.SetID, l.Label.VolumeID, l.Label.BlockSize, l.Was)
		}
	}
	return err
}

func cmdTapeExport() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write snapshots, the packs they need, index, config and keys to tape as one export set",
		ArgsUsage: "[SNAPSHOT...|--all|--since WHEN]",
		Flags: append(append(mediaFlags(), filterFlags()...),
			&cli.StringSliceFlag{Name: "snapshot", Usage: "snapshot `ID` (prefix, latest) to export; default or \"all\": every snapshot"},
			&cli.BoolFlag{Name: "all", Usage: "every snapshot (the default without SNAPSHOT), narrowed by --host, --tag, --path, --since"},
			&cli.StringFlag{Name: "since", Usage: "only snapshots taken after `WHEN`: a duration back from now (7d, 24h, 1m2d) or a date (2026-11-01, RFC 3339)"},
			&cli.BoolFlag{Name: "incremental", Usage: "write only packs that no earlier set (local tape catalog) holds"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan, touch no tape"},
			&cli.StringFlag{Name: "block-size", Value: "256KiB", Usage: "tape block `SIZE`"},
			&cli.BoolFlag{Name: "recycle", Usage: "overwrite cairn volumes of sets the local catalog does not keep"},
		),
		Action: tapeExport,
	}
}

func tapeExport(c *cli.Context) error {
	e := newEnv(c)
	ctx := c.Context
	bs, err := open.ParseSize(c.String("block-size"))
	if err != nil {
		return fmt.Errorf("--block-size: %w", err)
	}
	r, err := e.openRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	lock, err := r.Lock(ctx, repo.LockShared, "tape export")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	ids, err := exportSnapshots(c, r)
	if err != nil {
		return err
	}
	since, err := parseSince(c.String("since"), time.Now())
	if err != nil {
		return err
	}
	history, err := export.LoadLocalCatalog(r.CacheDir())
	if err != nil {
		return err
	}
	if c.Bool("incremental") && r.CacheDir() == "" {
		return errors.New("--incremental needs the local tape catalog in the cache dir (not with --no-cache)")
	}
	plan, err := export.PlanExport(ctx, r, export.PlanOptions{Snapshots: ids, Filter: snapshotFilter(c), Since: since, Incremental: c.Bool("incremental"), History: history, BlockSize: int(bs)})
	if err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return printPlan(e, plan)
	}
	m, err := openMedia(e, false)
	if err != nil {
		return err
	}
	defer m.Close()
	setID := volume.NewID()
	chooser := &export.Chooser{
		Media:   m,
		Keep:    func(s volume.ID) bool { return s == setID || history.HasSet(s.String()) },
		Recycle: c.Bool("recycle"),
		Skipped: func(name, why string) { e.warnf("skipping %s: %s\n", name, why) },
	}
	host, _ := os.Hostname()
	res, err := export.Execute(ctx, r, plan, export.ExecuteOptions{NextVolume: chooser.NextVolume, SetID: setID, BlockSize: int(bs), Host: host})
	if err != nil {
		return fmt.Errorf("export set %s failed (not recorded in the local catalog): %w", setID, err)
	}
	history.Record(plan, res, chooser.Name)
	if dir := r.CacheDir(); dir != "" {
		if err := history.Save(dir); err != nil {
			return fmt.Errorf("export set %s written, but the local catalog was not saved: %w", setID, err)
		}
	}
	return printExport(e, plan, res, chooser)
}

// exportSnapshots resolves the named snapshots; none (or "all", --all)
// means every snapshot the filters and --since select.
func exportSnapshots(c *cli.Context, r *repo.Repository) ([]crypto.ID, error) {
	names := append(c.StringSlice("snapshot"), c.Args().Slice()...)
	if len(names) > 0 && (c.Bool("all") || c.String("since") != "") {
		return nil, errors.New("give SNAPSHOT ids, or --all/--since, not both")
	}
	var ids []crypto.ID
	for _, n := range names {
		if n == "all" {
			return nil, nil
		}
		sn, err := findSnapshot(c, r, n)
		if err != nil {
			return nil, err
		}
		ids = append(ids, sn.ID)
	}
	return ids, nil
}

// parseSince parses --since: a duration back from now in forget's units
// (y, m = months, d, h: "7d", "1m2d"), or a point in time (RFC 3339, or a
// local date or date and time). The zero time means no --since.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	d, err := retention.ParseDuration(s)
	if err != nil || d.Zero() {
		return time.Time{}, fmt.Errorf("--since %q: want a duration such as 7d or 24h, or a date such as 2026-11-01 or 2026-11-01T08:00:00Z", s)
	}
	return now.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour), nil
}

func printPlan(e *env, p *export.Plan) error {
	if e.json {
		return e.printJSON(map[string]any{
			"message_type": "plan", "snapshots": len(p.Snapshots), "packs": p.Packs, "pack_bytes": p.PackBytes,
			"packs_elsewhere": p.Elsewhere, "base_sets": p.BaseSets, "keys": len(p.Keys), "index_files": len(p.Index),
			"meta_bytes": p.MetaBytes, "tape_bytes_estimate": p.TapeBytesEstimate, "incremental": p.Incremental,
		})
	}
	e.printf("export plan for repository %s:\n", p.RepoID[:10])
	for _, sn := range p.Snapshots {
		e.printf("  snapshot %s  %s  %d packs\n", sn.ID.Short(), sn.Time.Local().Format(time.DateTime), len(p.SnapshotPacks[sn.ID]))
	}
	e.printf("  config, %d key files, %d snapshots, %d index files (%s), twice but the index\n", len(p.Keys), len(p.Snapshots), len(p.Index), humanBytes(p.MetaBytes))
	e.printf("  %d packs to write (%s)\n", len(p.Packs), humanBytes(p.PackBytes))
	if len(p.Elsewhere) > 0 {
		e.printf("  %d packs already on earlier sets %s\n", len(p.Elsewhere), strings.Join(p.BaseSets, ", "))
	}
	e.printf("  about %s on tape\n", humanBytes(p.TapeBytesEstimate))
	return nil
}

func printExport(e *env, p *export.Plan, res *export.Result, ch *export.Chooser) error {
	sum := res.Summary
	secs := max(res.Elapsed.Seconds(), 0.001)
	overhead := 0.0
	if sum.DataBytes > 0 {
		overhead = float64(sum.TapeBytes) / float64(sum.DataBytes)
	}
	if e.json {
		vols := []map[string]any{}
		for _, v := range sum.Volumes {
			vols = append(vols, map[string]any{"seq": v.Seq, "id": v.ID.String(), "medium": ch.Name(int(v.Seq)), "blocks": v.Blocks, "full": v.Full})
		}
		return e.printJSON(map[string]any{
			"message_type": "export", "set_id": sum.SetID.String(), "volumes": vols, "files": sum.Files,
			"snapshots": len(p.Snapshots), "packs": len(p.Packs), "pack_bytes": res.PackBytes, "packs_elsewhere": len(p.Elsewhere),
			"data_bytes": sum.DataBytes, "tape_bytes": sum.TapeBytes, "block_size": sum.BlockSize,
			"seconds": res.Elapsed.Seconds(), "bytes_per_second": float64(sum.DataBytes) / secs, "overhead": overhead,
		})
	}
	for _, v := range sum.Volumes {
		e.printf("volume %d on %s: %d blocks\n", v.Seq, ch.Name(int(v.Seq)), v.Blocks)
	}
	e.printf("export set %s: %d snapshots, %d packs (%s), %d packs left to earlier sets\n", sum.SetID, len(p.Snapshots), len(p.Packs), humanBytes(res.PackBytes), len(p.Elsewhere))
	e.printf("wrote %d files, %s of data as %s on tape (×%.3f) on %d volumes in %s (%s/s)\n",
		sum.Files, humanBytes(sum.DataBytes), humanBytes(sum.TapeBytes), overhead, len(sum.Volumes), res.Elapsed.Round(time.Millisecond), humanBytes(int64(float64(sum.DataBytes)/secs)))
	return nil
}

func cmdTapeScan() *cli.Command {
	return &cli.Command{
		Name:  "scan",
		Usage: "rebuild a repository from tape volumes alone (no catalog, no original repository needed)",
		Flags: append(mediaFlags(),
			&cli.StringFlag{Name: "target", Aliases: []string{"to"}, Required: true, Usage: "new repository `DIR` (empty or missing)"},
			&cli.StringFlag{Name: "staging", Usage: "`DIR` for files being assembled (default: TARGET/.tape-scan)"},
			&cli.BoolFlag{Name: "keep-incomplete", Usage: "also store snapshots whose data is not all recovered (then run repair snapshots)"},
		),
		Action: tapeScan,
	}
}

func tapeScan(c *cli.Context) error {
	e := newEnv(c)
	ctx := c.Context
	target := c.String("target")
	be, err := openLocation(ctx, target, true, nil, c.Int("connections"))
	if err != nil {
		return err
	}
	defer be.Close()
	staging := c.String("staging")
	if staging == "" {
		if strings.Contains(target, ":") {
			return errors.New("--staging DIR is needed for a target that is not a local path")
		}
		staging = filepath.Join(target, ".tape-scan")
	}
	pw, m, err := passwordAndMedia(e)
	if err != nil {
		return err
	}
	defer m.Close()
	opts := scan.Options{Password: pw, Repo: repo.Options{NoCache: true}, StagingDir: staging, KeepIncomplete: c.Bool("keep-incomplete"), Log: progressLog(e)}
	rep, err := scan.Scan(ctx, m, be, opts)
	if rep != nil && (err == nil || len(rep.Volumes) > 0) {
		if perr := printScan(e, rep); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if len(rep.Damaged) > 0 || len(rep.IncompletePacks) > 0 || len(rep.IncompleteSnapshots) > 0 || hasMissing(rep.Sets) {
		return &exitErr{code: exitPartial}
	}
	return nil
}

// passwordAndMedia asks for the password of the repository on tape (its
// key files come from tape) and opens the media for reading.
func passwordAndMedia(e *env) (string, export.Media, error) {
	pw, err := e.password("enter password of the repository on tape: ", false)
	if err != nil {
		return "", nil, err
	}
	m, err := openMedia(e, true)
	if err != nil {
		return "", nil, err
	}
	return pw, m, nil
}

// progressLog writes progress lines to stderr, unless --quiet or --json.
func progressLog(e *env) func(string, ...any) {
	if e.quiet || e.json {
		return nil
	}
	return func(f string, a ...any) { fmt.Fprintf(e.stderr, f, a...) }
}

func hasMissing(sets []scan.SetInfo) bool {
	for _, s := range sets {
		if len(s.Missing) > 0 || s.Total == 0 {
			return true
		}
	}
	return false
}

func printScan(e *env, rep *scan.Report) error {
	if e.json {
		return e.printJSON(rep)
	}
	for _, s := range rep.Sets {
		e.printf("set %s: volumes %v", s.SetID, s.Volumes)
		switch {
		case len(s.Missing) > 0:
			e.printf(", MISSING %v", s.Missing)
		case s.Total == 0:
			e.printf(", its last volume was not found")
		}
		e.printf("\n")
	}
	for _, u := range rep.Unreadable {
		e.printf("not a cairn volume: %s\n", u)
	}
	for _, d := range rep.Damaged {
		e.printf("damaged block: %s\n", d)
	}
	for _, p := range rep.IncompletePacks {
		e.printf("pack %.16s incomplete", p.ID)
		if len(p.Holes) > 0 {
			e.printf(" (%d byte ranges missing)", len(p.Holes))
		}
		e.printf(": %d blobs salvaged, %d lost", p.Salvaged, len(p.Lost))
		if p.Reason != "" {
			e.printf(" (%s)", p.Reason)
		}
		e.printf("\n")
	}
	e.printf("recovered %d packs (%s), %d index files kept, %d rebuilt from pack headers, %d blobs salvaged, %d lost\n",
		rep.Packs, humanBytes(rep.PackBytes), rep.IndexKept, rep.IndexRebuilt, rep.BlobsSalvaged, rep.BlobsLost)
	for _, id := range rep.Snapshots {
		e.printf("snapshot %s recovered\n", id.Short())
	}
	for _, s := range rep.IncompleteSnapshots {
		kept := "not stored"
		if s.Kept {
			kept = "stored anyway"
		}
		e.printf("snapshot %s INCOMPLETE (%s, %v): %d blobs missing, first at %s; %s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Paths, s.MissingBlobs, s.FirstMissing, kept)
	}
	secs := max(rep.ReadTime.Seconds(), 0.001)
	e.printf("read %s of tape in %s (%s/s), rebuilt in %s\n", humanBytes(rep.TapeBytes), rep.ReadTime.Round(time.Millisecond), humanBytes(int64(float64(rep.TapeBytes)/secs)), rep.RebuildTime.Round(time.Millisecond))
	return nil
}

func cmdTapeVerify() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "re-read every block of every set and check every file against its name (no key needed)",
		Flags: mediaFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			m, err := openMedia(e, true)
			if err != nil {
				return err
			}
			defer m.Close()
			rep, err := scan.Verify(c.Context, m)
			if err != nil {
				return err
			}
			if err := printResult(e, rep, func() { printVerify(e, rep) }); err != nil {
				return err
			}
			if !rep.Clean() {
				return &exitErr{code: exitError, err: errors.New("tape verify found problems")}
			}
			return nil
		},
	}
}

func printVerify(e *env, rep *scan.VerifyReport) {
	for _, u := range rep.Unreadable {
		e.printf("not a cairn volume: %s\n", u)
	}
	for _, s := range rep.Sets {
		e.printf("set %s: volumes %v, %d files, %d packs", s.SetID, s.Volumes, s.Files, s.Packs)
		if len(s.Missing) > 0 {
			e.printf(", MISSING volumes %v", s.Missing)
		}
		if !s.EndOfSet {
			e.printf(", end of set not reached")
		}
		e.printf("\n")
		for _, d := range s.Damaged {
			e.printf("  damaged block: %s\n", d)
		}
		for _, f := range s.Incomplete {
			e.printf("  incomplete: %s\n", f)
		}
		for _, p := range s.BadPacks {
			e.printf("  pack does not match its name: %s\n", p)
		}
		if s.BadEntries > 0 {
			e.printf("  %d damaged entries in metadata bundles\n", s.BadEntries)
		}
	}
	secs := max(rep.Elapsed.Seconds(), 0.001)
	e.printf("read %s in %s (%s/s)\n", humanBytes(rep.DataBytes), rep.Elapsed.Round(time.Millisecond), humanBytes(int64(float64(rep.DataBytes)/secs)))
}

func cmdTapeList() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list volumes, sets and snapshots from tape labels and catalogs, or from the local tape catalog (no --drive/--changer)",
		Flags: mediaFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.String("changer") == "" && len(c.StringSlice("drive")) == 0 {
				return listLocal(e)
			}
			m, err := openMedia(e, true)
			if err != nil {
				return err
			}
			defer m.Close()
			rep, err := scan.List(c.Context, m)
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(rep)
			}
			for _, v := range rep.Volumes {
				l := v.Label
				e.printf("%s: set %s volume %d, block size %d, written %s on %s\n", v.Medium, l.SetID, l.Seq, l.BlockSize, l.Created.Local().Format(time.DateTime), l.Host)
				if c := v.Catalog; c != nil {
					e.printf("  end of set: repository %s, %d files, %d snapshots", c.RepoID[:min(10, len(c.RepoID))], len(c.Files), len(c.Snapshots))
					if c.Incremental {
						e.printf(", incremental on %s", strings.Join(c.BaseSets, ", "))
					}
					e.printf("\n")
					for _, s := range c.Snapshots {
						e.printf("  snapshot %s  %s  %d packs on sets %s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Packs, strings.Join(s.Sets, ", "))
					}
				}
			}
			for _, u := range rep.Unreadable {
				e.printf("%s\n", u)
			}
			return nil
		},
	}
}

func listLocal(e *env) error {
	r, err := e.openRepo(e.c.Context)
	if err != nil {
		return err
	}
	defer r.Close()
	cat, err := export.LoadLocalCatalog(r.CacheDir())
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(cat)
	}
	for _, s := range cat.Sets {
		e.printf("set %s  %s  %d snapshots, %d packs, %s on tape\n", s.SetID, s.Created.Local().Format(time.DateTime), len(s.Snapshots), len(s.Packs), humanBytes(s.TapeBytes))
		for _, v := range s.Volumes {
			e.printf("  volume %d  %s  (%s)\n", v.Seq, v.Medium, v.ID)
		}
	}
	return nil
}

func cmdTapeStatus() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show drive status and the label of each volume",
		Flags: mediaFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			m, err := openMedia(e, true)
			if err != nil {
				return err
			}
			defer m.Close()
			var out []map[string]any
			for i := 0; i < m.Count(); i++ {
				row := map[string]any{"medium": m.Name(i)}
				d, err := m.Open(c.Context, i)
				if err == nil {
					row["status"] = driveStatus(d)
					if v, lerr := volume.OpenVolume(c.Context, d); lerr == nil {
						row["label"] = v.Label()
					} else if errors.Is(lerr, tapeio.ErrEndOfData) {
						row["label"] = "blank"
					} else {
						row["label"] = lerr.Error()
					}
				} else {
					row["error"] = err.Error()
				}
				m.Release()
				out = append(out, row)
			}
			if e.json {
				return e.printJSON(out)
			}
			for _, row := range out {
				e.printf("%v: ", row["medium"])
				switch l := row["label"].(type) {
				case volume.Label:
					e.printf("volume %d of set %s, block size %d, %s; ", l.Seq, l.SetID, l.BlockSize, l.Created.Local().Format(time.DateTime))
				case string:
					e.printf("%s; ", l)
				}
				if s, ok := row["status"]; ok {
					e.printf("%v\n", s)
				} else {
					e.printf("%v\n", row["error"])
				}
			}
			return nil
		},
	}
}

func driveStatus(d tapeio.Drive) string {
	s, err := d.Status()
	if err != nil {
		return err.Error()
	}
	return s.String()
}

func cmdTapeRestore() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore the files of one snapshot straight from tape into a directory (no repository needed)",
		ArgsUsage: "SNAPSHOT",
		Flags: append(append(mediaFlags(), filterFlags()...),
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Required: true, Usage: "restore into `DIR`"},
			&cli.StringSliceFlag{Name: "include", Aliases: []string{"i"}, Usage: "restore only paths matching `PATTERN`"},
			&cli.StringSliceFlag{Name: "exclude", Aliases: []string{"e"}, Usage: "skip paths matching `PATTERN`"},
		),
		Action: tapeRestore,
	}
}

func tapeRestore(c *cli.Context) error {
	e := newEnv(c)
	if c.NArg() != 1 {
		return errors.New("tape restore needs one SNAPSHOT (id, prefix or latest)")
	}
	pw, m, err := passwordAndMedia(e)
	if err != nil {
		return err
	}
	defer m.Close()
	opts := scan.RestoreOptions{
		Password: pw, Snapshot: c.Args().First(), Filter: snapshotFilter(c), Target: c.String("target"),
		Includes: c.StringSlice("include"), Excludes: c.StringSlice("exclude"), Log: progressLog(e),
	}
	rep, err := scan.Restore(c.Context, m, opts)
	if err != nil {
		return err
	}
	if err := printResult(e, rep, func() { printTapeRestore(e, rep) }); err != nil {
		return err
	}
	if !rep.Complete() {
		return &exitErr{code: exitError, err: fmt.Errorf("tape restore incomplete: %d files affected, %d errors", len(rep.Affected), len(rep.Errors))}
	}
	return nil
}

// printResult prints rep as JSON with --json, else calls human.
func printResult(e *env, rep any, human func()) error {
	if e.json {
		return e.printJSON(rep)
	}
	human()
	return nil
}

func printTapeRestore(e *env, rep *scan.RestoreReport) {
	for _, u := range rep.Unreadable {
		e.printf("not read: %s\n", u)
	}
	for _, d := range rep.Damaged {
		e.printf("damaged block: %s\n", d)
	}
	for _, v := range rep.Missing {
		e.printf("missing: %s\n", v)
	}
	for _, f := range rep.Affected {
		e.printf("INCOMPLETE %s: %s\n", f.Path, f.Error)
	}
	for _, s := range rep.Errors {
		e.printf("error: %s\n", s)
	}
	if rep.Note != "" {
		e.printf("note: %s\n", rep.Note)
	}
	secs := max(rep.ReadTime.Seconds(), 0.001)
	e.printf("restored snapshot %s (%s, %v): %d files, %d dirs, %s from %d volumes in %d pass(es); read %s of tape in %s (%s/s)\n",
		rep.Snapshot.Short(), rep.Time.Local().Format(time.DateTime), rep.Paths, rep.Files, rep.Dirs, humanBytes(rep.Bytes), len(rep.Volumes), rep.Passes,
		humanBytes(rep.TapeBytes), rep.ReadTime.Round(time.Millisecond), humanBytes(int64(float64(rep.TapeBytes)/secs)))
}
