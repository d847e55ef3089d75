package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/sources/blockdev"
	"cairn/sources/vmware"
)

// sourceFlags are the snapshot flags shared by backup-vm and backup-block.
func sourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "tag", Usage: "add `TAG` to the snapshot"},
		&cli.StringFlag{Name: "host", Usage: "record `HOST` instead of the host name"},
		&cli.StringFlag{Name: "parent", Usage: "use `SNAPSHOT` as parent instead of the latest of the same host and source"},
		&cli.BoolFlag{Name: "force", Usage: "read everything, ignoring the parent snapshot"},
		&cli.IntFlag{Name: "workers", Usage: "parallel reads and blob saves (default: 4 for VMs, CPUs for block devices)"},
		&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` (a VM snapshot is still removed)"},
	}
}

func cmdBackupVM() *cli.Command {
	return &cli.Command{
		Name:  "backup-vm",
		Usage: "back up a vSphere VM's disks through Changed Block Tracking",
		Description: "Credentials come from CAIRN_VSPHERE_USER and CAIRN_VSPHERE_PASSWORD (or GOVC_USERNAME,\n" +
			"GOVC_PASSWORD), or --vsphere-password-file; never from the command line.",
		Flags: append(append(sourceFlags(), vsphereFlags()...),
			&cli.StringFlag{Name: "vm", Usage: "VM `NAME`"},
			&cli.StringFlag{Name: "vm-moref", Usage: "VM managed object `ID` (vm-42)"},
			&cli.StringFlag{Name: "quiesce", Value: "auto", Usage: "VM snapshot: auto (quiesce if possible), always, never"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			cfg, err := vsphereConfig(c)
			if err != nil {
				return err
			}
			q := vmware.Quiesce(c.String("quiesce"))
			if q != vmware.QuiesceAuto && q != vmware.QuiesceAlways && q != vmware.QuiesceNever {
				return fmt.Errorf("--quiesce: want auto, always or never, not %q", q)
			}
			if c.String("vm") == "" && c.String("vm-moref") == "" {
				return errors.New("backup-vm needs --vm NAME or --vm-moref ID")
			}
			ctx, cancel := withTimeout(c)
			defer cancel()
			return withSourceRepo(ctx, c, e, func(r *repo.Repository, sn *repo.Snapshot) error {
				vc, err := vmware.Connect(ctx, cfg)
				if err != nil {
					return err
				}
				defer vc.Logout(context.WithoutCancel(ctx))
				opts := vmware.Options{VM: c.String("vm"), Moref: c.String("vm-moref"), Chunker: r.ChunkerParams(),
					Quiesce: q, Workers: c.Int("workers"), Log: func(m string) { e.warnf("%s\n", m) }}
				if !c.Bool("force") {
					opts.LookupParent = func(ctx context.Context, vcenter, vm string) (*vmware.Parent, error) {
						p, err := sourceParent(ctx, c, r, sn.Host, repo.KindVM, []string{vmPath(vcenter, vm)})
						if err != nil || p == nil {
							return nil, err
						}
						det, err := vmware.DetailsOf(p.Source)
						if err != nil {
							return nil, err
						}
						sn.Parent = &p.ID
						e.printf("using parent snapshot %s\n", p.ID.Short())
						return &vmware.Parent{Root: p.Tree, Details: det}, nil
					}
				}
				prog := newProgress(e, "backup")
				opts.Progress = func(done, total int64) { prog.update(0, done, 0, total) }
				res, err := vmware.Backup(ctx, vc, r, opts)
				prog.done()
				if res == nil {
					return err
				}
				for _, d := range res.Details.Disks {
					e.printf("disk %d %q: %s, CBT %s, read %s\n", d.Key, d.Label, d.Mode,
						humanBytes(d.ChangedBytes), humanBytes(d.BytesRead))
				}
				sn.Paths = []string{vmPath(res.Details.VCenter, res.Details.VM)}
				sn.Tree, sn.Source = res.Root, res.Details
				sn.Summary = &repo.Summary{TotalFiles: int64(len(res.Details.Disks)), TotalBytes: res.TotalBytes, BytesRead: res.BytesRead}
				// A backup whose VM snapshot could not be removed is still
				// good: keep it, then fail loudly.
				return err
			})
		},
	}
}

// vsphereFlags are the vCenter connection flags of backup-vm and
// restore-vm --to-datastore; credentials are not among them.
func vsphereFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "vcenter", EnvVars: []string{"CAIRN_VSPHERE_URL", "GOVC_URL"}, Usage: "vCenter `URL` (host or https://host/sdk)"},
		&cli.StringFlag{Name: "vsphere-password-file", EnvVars: []string{"CAIRN_VSPHERE_PASSWORD_FILE"}, Usage: "read the vCenter password from `FILE`"},
		&cli.BoolFlag{Name: "insecure", EnvVars: []string{"CAIRN_VSPHERE_INSECURE", "GOVC_INSECURE"}, Usage: "do not verify vCenter's certificate"},
		&cli.StringFlag{Name: "ca-file", EnvVars: []string{"CAIRN_VSPHERE_CA_FILE", "GOVC_TLS_CA_CERTS"}, Usage: "trust the PEM CA certificates in `FILE`"},
	}
}

// vmPath is the snapshot path of a VM: its parent is found by it.
func vmPath(vcenter, vm string) string {
	return "/vsphere/" + vcenter + "/" + strings.ReplaceAll(vm, "/", "%2F")
}

// vsphereConfig reads the connection settings; credentials only from the
// environment or a file.
func vsphereConfig(c *cli.Context) (vmware.Config, error) {
	cfg := vmware.Config{URL: c.String("vcenter"), Insecure: c.Bool("insecure"), CAFile: c.String("ca-file")}
	if cfg.URL == "" {
		return cfg, errors.New("no vCenter: use --vcenter or CAIRN_VSPHERE_URL")
	}
	if u, err := url.Parse(cfg.URL); err == nil && u.User != nil {
		if c.IsSet("vcenter") {
			return cfg, errors.New("--vcenter must not hold credentials (they would show in the process list): use CAIRN_VSPHERE_USER and CAIRN_VSPHERE_PASSWORD")
		}
		// GOVC_URL style, from the environment.
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	for _, k := range []string{"CAIRN_VSPHERE_USER", "GOVC_USERNAME"} {
		if v := os.Getenv(k); v != "" && cfg.User == "" {
			cfg.User = v
		}
	}
	for _, k := range []string{"CAIRN_VSPHERE_PASSWORD", "GOVC_PASSWORD"} {
		if v, ok := os.LookupEnv(k); ok && cfg.Password == "" {
			cfg.Password = v
		}
	}
	if f := c.String("vsphere-password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return cfg, fmt.Errorf("vsphere password file: %w", err)
		}
		cfg.Password = firstLine(b)
	}
	if cfg.User == "" {
		return cfg, errors.New("no vCenter user: set CAIRN_VSPHERE_USER")
	}
	return cfg, nil
}

func cmdBackupBlock() *cli.Command {
	return &cli.Command{
		Name:      "backup-block",
		Usage:     "back up a block device or disk image",
		ArgsUsage: "DEVICE|IMAGE",
		Flags: append(sourceFlags(),
			&cli.StringFlag{Name: "changed-extents", Usage: "`FILE` of OFFSET,LENGTH lines changed since the parent: read only those"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("backup-block needs one device or image")
			}
			path, err := filepath.Abs(c.Args().First())
			if err != nil {
				return err
			}
			opts := blockdev.Options{Workers: c.Int("workers")}
			if f := c.String("changed-extents"); f != "" {
				if opts.Changed, err = blockdev.ReadExtentsFile(f); err != nil {
					return err
				}
				opts.HaveChanged = true
			}
			ctx, cancel := withTimeout(c)
			defer cancel()
			return withSourceRepo(ctx, c, e, func(r *repo.Repository, sn *repo.Snapshot) error {
				sn.Kind, sn.Paths = repo.KindBlock, []string{path}
				opts.Chunker = r.ChunkerParams()
				if !c.Bool("force") {
					p, err := sourceParent(ctx, c, r, sn.Host, repo.KindBlock, sn.Paths)
					if err != nil {
						return err
					}
					if p != nil {
						opts.ParentRoot, sn.Parent = &p.Tree, &p.ID
						e.printf("using parent snapshot %s\n", p.ID.Short())
					}
				}
				prog := newProgress(e, "backup")
				opts.Progress = func(done, total int64) { prog.update(0, done, 0, total) }
				res, err := blockdev.Backup(ctx, r, path, opts)
				prog.done()
				if err != nil {
					return err
				}
				if res.Details.Fallback != "" {
					e.warnf("full read: %s\n", res.Details.Fallback)
				}
				e.printf("%s: %s read, %s chunked, %s reused from the parent\n", res.Details.Mode,
					humanBytes(res.BytesRead), humanBytes(res.Stats.Chunked), humanBytes(res.Stats.Reused))
				sn.Tree, sn.Source = res.Root, res.Details
				sn.Summary = &repo.Summary{TotalFiles: 1, TotalBytes: res.Details.Size, BytesRead: res.BytesRead}
				return nil
			})
		},
	}
}

// withTimeout applies --timeout to the command's context.
func withTimeout(c *cli.Context) (context.Context, context.CancelFunc) {
	if d := c.Duration("timeout"); d > 0 {
		return context.WithTimeout(c.Context, d)
	}
	return context.WithCancel(c.Context)
}

// withSourceRepo opens and locks the repository, lets fn fill a snapshot
// (kind vm by default), then flushes, saves and reports it. fn's error is
// returned after the snapshot is saved when fn set a tree, so that a
// completed backup with a cleanup failure is kept.
func withSourceRepo(ctx context.Context, c *cli.Context, e *env, fn func(*repo.Repository, *repo.Snapshot) error) error {
	r, err := e.openRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	lock, err := r.Lock(ctx, repo.LockShared, "backup")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := r.SyncIndex(ctx); err != nil {
		return err
	}
	start := time.Now()
	sn := repo.NewSnapshot(start, repo.KindVM, nil)
	if h := c.String("host"); h != "" {
		sn.Host = h
	}
	sn.Tags = c.StringSlice("tag")
	ferr := fn(r, sn)
	if sn.Tree.IsNull() {
		return ferr
	}
	if err := r.Flush(ctx); err != nil {
		return errors.Join(ferr, err)
	}
	rs := r.Stats()
	sn.Summary.BytesAdded, sn.Summary.BytesAddedRaw, sn.Summary.BlobsNew = rs.BytesAdded, rs.BytesAddedRaw, rs.BlobsNew
	sn.Summary.DurationSeconds = time.Since(start).Seconds()
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		return errors.Join(ferr, err)
	}
	if err := reportBackup(e, sn); err != nil {
		return err
	}
	return ferr
}

// sourceParent returns --parent, or the latest snapshot of the same host,
// kind and paths.
func sourceParent(ctx context.Context, c *cli.Context, r *repo.Repository, host, kind string, paths []string) (*repo.Snapshot, error) {
	if p := c.String("parent"); p != "" {
		return r.FindSnapshot(ctx, p, repo.Filter{})
	}
	return r.FindParent(ctx, host, kind, paths)
}
