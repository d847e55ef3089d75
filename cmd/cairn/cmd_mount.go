package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/fuse"
)

func cmdMount() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "browse snapshots as a read-only file system (FUSE)",
		ArgsUsage: "MOUNTPOINT",
		Description: "Serves snapshots/<time>/, ids/<id>/, hosts/<host>/<time>/ and tags/<tag>/<time>/, with a\n" +
			"`latest` symlink at each level, until interrupted (Ctrl-C, SIGTERM) or unmounted.\n" +
			"New snapshots appear without remounting. A stale mount left by a killed\n" +
			"mount process at MOUNTPOINT is removed first. See docs/mount.md.",
		Flags: append(filterFlags(),
			&cli.BoolFlag{Name: "allow-other", Usage: "let other users access the mount (file permissions are enforced)"},
			&cli.StringFlag{Name: "cache-size", Value: "64MiB", Usage: "memory for decrypted blobs shared by all open files (`SIZE`)"},
			&cli.StringFlag{Name: "read-ahead", Value: "8MiB", Usage: "fetch this much beyond sequential reads in the background (`SIZE`, 0 disables)"},
			&cli.BoolFlag{Name: "no-xattrs", Usage: "do not serve extended attributes (faster ls -l of large trees)"},
			&cli.BoolFlag{Name: "fusermount", Usage: "mount with fusermount3 even as root (root mounts directly by default)"},
			&cli.BoolFlag{Name: "debug-fuse", Usage: "log every FUSE request"},
		),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			dir := c.Args().First()
			if dir == "" || c.NArg() > 1 {
				return errors.New("usage: cairn mount [flags] MOUNTPOINT")
			}
			cacheSize, err := parseSize(c.String("cache-size"))
			if err != nil {
				return fmt.Errorf("--cache-size: %w", err)
			}
			readAhead, err := parseSize(c.String("read-ahead"))
			if err != nil {
				return fmt.Errorf("--read-ahead: %w", err)
			}
			if readAhead == 0 {
				readAhead = -1 // fuse.Options: negative disables
			}
			limitMemory(cacheSize)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			opts := fuse.Options{CacheSize: cacheSize, ReadAhead: readAhead}
			if f := snapshotFilter(c); len(f.Hosts)+len(f.Tags)+len(f.Paths) > 0 {
				opts.Filter = f.Match
			}
			fsys, err := fuse.New(c.Context, r, opts)
			if err != nil {
				return err
			}
			defer fsys.Close()
			m, err := fsys.Mount(dir, fuse.MountOptions{
				AllowOther: c.Bool("allow-other"),
				Fusermount: c.Bool("fusermount"),
				NoXattrs:   c.Bool("no-xattrs"),
				FsName:     "cairn:" + c.String("repo"),
				Debug:      c.Bool("debug-fuse"),
			})
			if err != nil {
				return err
			}
			if m.Cleared {
				e.warnf("removed a stale mount at %s\n", m.Dir)
			}
			return serveMount(c, e, m)
		},
	}
}

// serveMount reports the mount and waits for an unmount from outside or
// for SIGINT/SIGTERM, which unmount it.
func serveMount(c *cli.Context, e *env, m *fuse.Mount) error {
	if e.json {
		if err := e.printJSON(map[string]string{"message_type": "mounted", "mountpoint": m.Dir}); err != nil {
			return err
		}
	}
	e.printf("snapshots mounted at %s; Ctrl-C or `umount %s` unmounts\n", m.Dir, m.Dir)
	done := make(chan struct{})
	go func() {
		m.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-c.Context.Done():
		if err := m.Unmount(); err != nil {
			return err
		}
		// After a lazy unmount of a busy mount the server runs until its
		// last user is gone; a stop request should not wait for that.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			e.warnf("mount point was busy: detached; its remaining users get errors now\n")
			return nil
		}
	}
	e.printf("unmounted %s\n", m.Dir)
	return nil
}

// limitMemory sets a soft memory limit for a long-running mount unless
// GOMEMLIMIT is set: each blob fetch leaves its sealed and plaintext
// buffers as garbage, and with the default GOGC the heap grows to twice
// the blob cache before a collection. The base covers the index cache,
// tree cache and the FUSE server.
func limitMemory(cacheSize int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if cacheSize <= 0 {
		cacheSize = fuse.DefaultCacheSize
	}
	debug.SetMemoryLimit(128<<20 + cacheSize*3/2)
}

// parseSize reads a byte count with an optional binary unit: 512, 64K,
// 64KiB, 64M, 1G, 1GiB (K, M and G are powers of 1024, as in restic).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return v * mult, nil
}
