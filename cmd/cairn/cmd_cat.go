package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/urfave/cli/v2"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/walk"
)

func cmdCat() *cli.Command {
	return &cli.Command{
		Name:      "cat",
		Usage:     "print internal objects: config, snapshot ID, tree ID|SNAPSHOT[:PATH], blob ID, index ID, pack ID",
		ArgsUsage: "config|snapshot|tree|blob|index|pack [ID]",
		Flags:     filterFlags(),
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			kind, arg := c.Args().Get(0), c.Args().Get(1)
			pretty := func(v any) error {
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "%s\n", b)
				return err
			}
			switch kind {
			case "config":
				return pretty(r.Config())
			case "snapshot":
				sn, err := findSnapshot(c, r, arg)
				if err != nil {
					return err
				}
				return pretty(toJSON(sn))
			case "tree":
				id, err := treeArg(c, r, arg)
				if err != nil {
					return err
				}
				t, err := r.LoadTree(c.Context, id)
				if err != nil {
					return err
				}
				return pretty(t)
			case "blob":
				id, err := crypto.ParseID(arg)
				if err != nil {
					return err
				}
				ent, ok, err := r.LookupBlob(id)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("blob %s: %w", id, repo.ErrBlobNotFound)
				}
				data, err := r.LoadEntry(c.Context, ent, nil)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(data)
				return err
			case "index":
				id, err := crypto.ParseID(arg)
				if err != nil {
					return err
				}
				f, err := r.LoadIndexFile(c.Context, id)
				if err != nil {
					return err
				}
				return pretty(indexJSON(f))
			case "pack":
				id, err := crypto.ParseID(arg)
				if err != nil {
					return err
				}
				return catPack(c, e, r, id, pretty)
			}
			return errors.New("cat needs one of: config, snapshot, tree, blob, index, pack")
		},
	}
}

func treeArg(c *cli.Context, r *repo.Repository, arg string) (crypto.ID, error) {
	if id, err := crypto.ParseID(arg); err == nil {
		return id, nil
	}
	name, sub := splitSnapshotPath(arg)
	sn, err := findSnapshot(c, r, name)
	if err != nil {
		return crypto.ID{}, err
	}
	if sub == "" {
		return sn.Tree, nil
	}
	n, err := walk.Lookup(c.Context, r, sn.Tree, path.Clean("/"+sub))
	if err != nil {
		return crypto.ID{}, err
	}
	if n.Subtree == nil {
		return crypto.ID{}, fmt.Errorf("%s in snapshot %s is not a directory", sub, name)
	}
	return *n.Subtree, nil
}

type blobJSON struct {
	Type      string    `json:"type"`
	ID        crypto.ID `json:"id"`
	Offset    uint32    `json:"offset"`
	Length    uint32    `json:"length"`
	RawLength uint32    `json:"raw_length"`
}

func blobsJSON(bs []pack.Blob) []blobJSON {
	out := make([]blobJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, blobJSON{b.Type.String(), b.ID, b.Offset, b.Length, b.RawLength})
	}
	return out
}

func indexJSON(f *index.File) any {
	type packJSON struct {
		ID    crypto.ID  `json:"id"`
		Size  int64      `json:"size"`
		Blobs []blobJSON `json:"blobs"`
	}
	out := struct {
		Packs      []packJSON  `json:"packs"`
		Supersedes []crypto.ID `json:"supersedes,omitempty"`
	}{Supersedes: f.Supersedes}
	for _, p := range f.Packs {
		out.Packs = append(out.Packs, packJSON{p.ID, p.Size, blobsJSON(p.Blobs)})
	}
	return out
}

func catPack(c *cli.Context, e *env, r *repo.Repository, id crypto.ID, pretty func(any) error) error {
	h := backend.Handle{Type: backend.PackFile, Name: id.String()}
	data, err := backend.LoadAll(c.Context, r.Backend(), h)
	if err != nil {
		return err
	}
	if got := crypto.Hash(data); got != id {
		e.warnf("warning: pack %s content hashes to %s (damaged)\n", id.Short(), got.Short())
	}
	_, blobs, err := pack.List(r.Key(), readerAt(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("pack %s: %w", id.Short(), err)
	}
	return pretty(struct {
		ID    crypto.ID  `json:"id"`
		Size  int        `json:"size"`
		Blobs []blobJSON `json:"blobs"`
	}{id, len(data), blobsJSON(blobs)})
}

type readerAt []byte

func (b readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
