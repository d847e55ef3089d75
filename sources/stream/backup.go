package stream

import (
	"context"
	"fmt"
	"io"
	"time"

	"cairn/repo"
	"cairn/repo/tree"
)

// Request describes one stream snapshot.
type Request struct {
	// Kind is the snapshot kind: repo.KindStdin or repo.KindDB.
	Kind string
	// Name is the file node's name in the root tree, e.g. "stdin" or
	// "shop.pgdump"; the snapshot's path is "/"+Name.
	Name string
	// Host overrides the host name recorded; empty means os.Hostname.
	Host string
	// Tags are added to the snapshot.
	Tags []string
	// Mode is the file node's permission bits (default 0600: a dump holds
	// a database's data and is restored readable by its owner only).
	Mode uint32
	// Save configures chunking and workers.
	Save SaveOptions
	// Source, if set, is called once the stream has been read completely
	// and successfully; its result is stored as the snapshot's source
	// details. It must not contain secrets.
	Source func() any
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Backup stores rd as a stream snapshot: chunks, then a root tree with one
// file node, then — after Flush made everything durable — the snapshot.
// If rd ends in an error, nothing but unreferenced blobs is written and
// the error is returned: a failed dump never leaves a snapshot.
func Backup(ctx context.Context, r Repo, rd io.Reader, req Request) (*repo.Snapshot, error) {
	now := req.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	sn := repo.NewSnapshot(start, req.Kind, []string{"/" + req.Name})
	if req.Host != "" {
		sn.Host = req.Host
	}
	sn.Tags = append([]string(nil), req.Tags...)
	parent, err := r.FindParent(ctx, sn.Host, sn.Kind, sn.Paths)
	if err != nil {
		return nil, fmt.Errorf("find parent snapshot: %w", err)
	}
	before := r.Stats()
	res, err := Save(ctx, r, rd, req.Save)
	if err != nil {
		return nil, err
	}
	mode := req.Mode
	if mode == 0 {
		mode = 0o600
	}
	end := now()
	node := &tree.Node{
		Name: req.Name, Type: tree.TypeFile, Mode: mode,
		UID: sn.UID, GID: sn.GID, User: sn.Username,
		ModTime: end, ChangeTime: end,
		Size: uint64(res.Bytes), Content: res.Content,
	}
	rootID, err := r.SaveTree(ctx, &tree.Tree{Nodes: []*tree.Node{node}})
	if err != nil {
		return nil, fmt.Errorf("save tree: %w", err)
	}
	if err := r.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	after := r.Stats()
	sn.Tree = rootID
	if parent != nil {
		sn.Parent = &parent.ID
	}
	if req.Source != nil {
		sn.Source = req.Source()
	}
	sum := &repo.Summary{
		TotalFiles: 1, TotalBytes: res.Bytes, BytesRead: res.Bytes,
		BytesAddedRaw: res.BytesNew, BlobsNew: res.BlobsNew,
		BytesAdded:      after.BytesAdded - before.BytesAdded,
		DurationSeconds: end.Sub(start).Seconds(),
	}
	if parent != nil {
		sum.FilesChanged = 1
	} else {
		sum.FilesNew = 1
	}
	sn.Summary = sum
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		return nil, err
	}
	return sn, nil
}
