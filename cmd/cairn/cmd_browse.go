package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
	"cairn/repo/tree"
	"cairn/repo/walk"
)

// nodeJSON is the --json form of a node in ls and find.
type nodeJSON struct {
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Mode  string    `json:"permissions"`
	Size  uint64    `json:"size"`
	UID   uint32    `json:"uid"`
	GID   uint32    `json:"gid"`
	MTime time.Time `json:"mtime"`
	Link  string    `json:"link_target,omitempty"`
}

func nodeLine(p string, n *tree.Node) string {
	return fmt.Sprintf("%s %8s %8s %12d %s %s%s", modeString(n), orID(n.User, n.UID), orID(n.Group, n.GID), n.Size,
		n.ModTime.Local().Format("2006-01-02 15:04:05"), p, linkSuffix(n))
}

func linkSuffix(n *tree.Node) string {
	if n.Type == tree.TypeSymlink {
		return " -> " + n.LinkTarget
	}
	return ""
}

func orID(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

func modeString(n *tree.Node) string {
	m := fs.FileMode(n.Mode & 0o777)
	if n.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch n.Type {
	case tree.TypeDir:
		m |= fs.ModeDir
	case tree.TypeSymlink:
		m |= fs.ModeSymlink
	case tree.TypeDev:
		m |= fs.ModeDevice
	case tree.TypeCharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case tree.TypeFifo:
		m |= fs.ModeNamedPipe
	case tree.TypeSocket:
		m |= fs.ModeSocket
	}
	return m.String()
}

func toNodeJSON(p string, n *tree.Node) nodeJSON {
	return nodeJSON{Path: p, Type: n.Type, Mode: modeString(n), Size: n.Size, UID: n.UID, GID: n.GID, MTime: n.ModTime, Link: n.LinkTarget}
}

// findSnapshot resolves the snapshot argument with the filter flags.
func findSnapshot(c *cli.Context, r *repo.Repository, name string) (*repo.Snapshot, error) {
	if name == "" {
		return nil, errors.New("missing snapshot (an id, id prefix or \"latest\")")
	}
	return r.FindSnapshot(c.Context, name, snapshotFilter(c))
}

func cmdLs() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list files in a snapshot",
		ArgsUsage: "SNAPSHOT [DIR]",
		Flags:     append(filterFlags(), &cli.BoolFlag{Name: "long", Aliases: []string{"l"}, Usage: "long listing"}, &cli.BoolFlag{Name: "recursive", Aliases: []string{"R"}, Usage: "list subdirectories (default when no DIR is given)"}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sn, err := findSnapshot(c, r, c.Args().Get(0))
			if err != nil {
				return err
			}
			dir := path.Clean("/" + c.Args().Get(1))
			recursive := c.Bool("recursive") || c.Args().Get(1) == ""
			start, err := walk.Lookup(c.Context, r, sn.Tree, dir)
			if err != nil {
				return err
			}
			print := func(p string, n *tree.Node) error {
				switch {
				case e.json:
					return e.printJSON(toNodeJSON(p, n))
				case c.Bool("long"):
					e.printf("%s\n", nodeLine(p, n))
				default:
					e.printf("%s\n", p)
				}
				return nil
			}
			if start.Type != tree.TypeDir {
				return print(dir, start)
			}
			return walk.Walk(c.Context, r, *start.Subtree, func(p string, n *tree.Node) error {
				full := path.Join(dir, p)
				if err := print(full, n); err != nil {
					return err
				}
				if n.Type == tree.TypeDir && !recursive {
					return walk.SkipDir
				}
				return nil
			})
		},
	}
}

func cmdFind() *cli.Command {
	return &cli.Command{
		Name:      "find",
		Usage:     "find files matching a pattern in snapshots",
		ArgsUsage: "PATTERN...",
		Flags:     append(filterFlags(), &cli.StringSliceFlag{Name: "snapshot", Aliases: []string{"s"}, Usage: "search only `SNAPSHOT`"}, &cli.BoolFlag{Name: "ignore-case", Aliases: []string{"i"}}),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("find needs at least one pattern")
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			sns, err := selectSnapshots(c, r, c.StringSlice("snapshot"))
			if err != nil {
				return err
			}
			pats := c.Args().Slice()
			fold := func(s string) string {
				if c.Bool("ignore-case") {
					return strings.ToLower(s)
				}
				return s
			}
			found := 0
			for _, sn := range sns {
				err := walk.Walk(c.Context, r, sn.Tree, func(p string, n *tree.Node) error {
					for _, pat := range pats {
						okName, _ := path.Match(fold(pat), fold(n.Name))
						okPath, _ := path.Match(fold(pat), fold(p))
						if okName || okPath {
							found++
							if e.json {
								return e.printJSON(struct {
									Snapshot string `json:"snapshot"`
									nodeJSON
								}{sn.ID.String(), toNodeJSON(p, n)})
							}
							e.printf("%s  %s\n", sn.ID.Short(), nodeLine(p, n))
							return nil
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if found == 0 && !e.json {
				e.warnf("no matches\n")
			}
			return nil
		},
	}
}

func cmdDiff() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show differences between two snapshots",
		ArgsUsage: "SNAPSHOT-A SNAPSHOT-B",
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 2 {
				return errors.New("diff needs two snapshots")
			}
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			a, err := findSnapshot(c, r, c.Args().Get(0))
			if err != nil {
				return err
			}
			b, err := findSnapshot(c, r, c.Args().Get(1))
			if err != nil {
				return err
			}
			counts := map[string]int{}
			err = walk.Diff(c.Context, r, a.Tree, b.Tree, func(ch walk.Change) error {
				counts[ch.Kind]++
				if e.json {
					return e.printJSON(ch)
				}
				e.printf("%-2s %s\n", ch.Kind, ch.Path)
				return nil
			})
			if err != nil {
				return err
			}
			e.printf("\nadded: %d, removed: %d, changed: %d, metadata: %d, type: %d\n", counts["+"], counts["-"], counts["M"], counts["U"], counts["T"])
			return nil
		},
	}
}

// selectSnapshots resolves the named snapshots, or, when none are named,
// returns every snapshot that passes the --host/--tag/--path filter.
func selectSnapshots(c *cli.Context, r *repo.Repository, names []string) ([]*repo.Snapshot, error) {
	var sns []*repo.Snapshot
	if len(names) > 0 {
		for _, name := range names {
			sn, err := findSnapshot(c, r, name)
			if err != nil {
				return nil, err
			}
			sns = append(sns, sn)
		}
		return sns, nil
	}
	all, err := r.Snapshots(c.Context)
	if err != nil {
		return nil, err
	}
	f := snapshotFilter(c)
	for _, sn := range all {
		if f.Match(sn) {
			sns = append(sns, sn)
		}
	}
	return sns, nil
}
