package blockdev

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// Options configure one Backup run.
type Options struct {
	// Chunker are the repository's chunking parameters.
	Chunker chunker.Params
	// ParentRoot is the root tree of the parent snapshot, or nil.
	ParentRoot *crypto.ID
	// Changed is the caller's list of regions changed since the parent;
	// it is used only when HaveChanged is set (an empty list then means
	// nothing changed). Without it the whole image is read.
	Changed     []chunker.Extent
	HaveChanged bool
	// Workers bounds concurrency; 0 means runtime.NumCPU().
	Workers int
	// SplitWorkers, if set, bounds the segments of a full read chunked in
	// parallel; 1 reads each allocated byte once, more read it twice.
	SplitWorkers int
	// Progress, if set, is called with the bytes done and the image size.
	Progress func(done, total int64)
}

// Details are recorded as the snapshot's source details.
type Details struct {
	Path   string `json:"path"`
	Device bool   `json:"device"`
	Size   int64  `json:"size"`
	// Mode is "full" or "incremental"; Fallback says why a full read was
	// done although an incremental was asked for.
	Mode     string `json:"mode"`
	Fallback string `json:"fallback,omitempty"`
	// ChangedBytes is the size of the caller's changed-extent list.
	ChangedBytes int64 `json:"changed_bytes,omitempty"`
}

// Result is what Backup produced.
type Result struct {
	Root      crypto.ID
	Details   Details
	Stats     ImageStats
	BytesRead int64 // from storage, holes excluded
}

// Backup saves the block device or image file at path as a tree with one
// file node (named after the path's base name) and returns the tree id.
// The snapshot itself is saved by the caller.
func Backup(ctx context.Context, r Repo, path string, opts Options) (*Result, error) {
	img, err := OpenImage(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	name := filepath.Base(path)
	res := &Result{Details: Details{Path: path, Device: img.IsDevice(), Size: img.Size()}}

	iopts := ImageOptions{Chunker: opts.Chunker, Workers: opts.Workers, SplitWorkers: opts.SplitWorkers}
	if opts.Progress != nil {
		iopts.Progress = func(done int64) { opts.Progress(done, img.Size()) }
	}
	var fallback string
	switch {
	case !opts.HaveChanged:
	case opts.ParentRoot == nil:
		fallback = "no parent snapshot"
	default:
		parent, err := parentContent(ctx, r, *opts.ParentRoot, name)
		if err != nil {
			fallback = err.Error()
			break
		}
		iopts.Parent, iopts.Changed, iopts.Incremental = parent, opts.Changed, true
		res.Details.ChangedBytes = extentBytes(opts.Changed, img.Size())
	}
	content, st, err := SaveImage(ctx, r, img, img.Size(), iopts)
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", path, err)
	}
	if st.Fallback != "" {
		fallback = st.Fallback
	}
	res.Stats, res.BytesRead = st, img.BytesRead()
	res.Details.Mode, res.Details.Fallback = st.Mode, fallback

	now := time.Now()
	node := &tree.Node{Name: name, Type: tree.TypeFile, Mode: 0o600, ModTime: now, ChangeTime: now,
		Size: uint64(img.Size()), Content: content}
	root, err := r.SaveTree(ctx, &tree.Tree{Nodes: []*tree.Node{node}})
	if err != nil {
		return nil, fmt.Errorf("save tree: %w", err)
	}
	res.Root = root
	return res, nil
}

// parentContent finds the chunk list of the node name in the parent tree.
func parentContent(ctx context.Context, r Repo, root crypto.ID, name string) ([]tree.Chunk, error) {
	t, err := r.LoadTree(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("load parent tree: %w", err)
	}
	n := t.Find(name)
	if n == nil || n.Type != tree.TypeFile {
		return nil, fmt.Errorf("parent snapshot has no image named %q", name)
	}
	return n.Content, nil
}
