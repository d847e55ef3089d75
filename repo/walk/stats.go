package walk

import (
	"context"

	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// BlobSizer returns the stored (sealed) and raw size of a blob.
type BlobSizer interface {
	TreeLoader
	BlobSize(id crypto.ID) (stored, raw int64, ok bool, err error)
}

// Stats are the sizes of a set of snapshots.
type Stats struct {
	Snapshots        int     `json:"snapshots"`
	Files            int64   `json:"files"`
	Dirs             int64   `json:"dirs"`
	RestoreSize      int64   `json:"restore_size"` // bytes a restore writes (content, holes included)
	UniqueRaw        int64   `json:"unique_raw"`   // plaintext bytes of distinct data blobs
	StoredSize       int64   `json:"stored_size"`  // sealed bytes of distinct data and tree blobs
	Blobs            int64   `json:"blobs"`
	DedupRatio       float64 `json:"dedup_ratio"`       // restore size / unique raw size
	CompressionRatio float64 `json:"compression_ratio"` // unique raw / stored
}

// Accumulate adds the snapshot rooted at root; seen deduplicates blobs
// across calls (trees are visited once each).
func Accumulate(ctx context.Context, l BlobSizer, root crypto.ID, seen map[crypto.ID]bool, st *Stats) error {
	st.Snapshots++
	return accumulate(ctx, l, root, seen, st)
}

func accumulate(ctx context.Context, l BlobSizer, id crypto.ID, seen map[crypto.ID]bool, st *Stats) error {
	countBlob := func(id crypto.ID, countRaw bool) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		stored, raw, ok, err := l.BlobSize(id)
		if err != nil || !ok {
			return err
		}
		st.Blobs++
		st.StoredSize += stored
		if countRaw {
			st.UniqueRaw += raw
		}
		return nil
	}
	if err := countBlob(id, false); err != nil {
		return err
	}
	t, err := l.LoadTree(ctx, id)
	if err != nil {
		return err
	}
	for _, n := range t.Nodes {
		switch n.Type {
		case tree.TypeDir:
			st.Dirs++
			if n.Subtree != nil {
				if err := accumulate(ctx, l, *n.Subtree, seen, st); err != nil {
					return err
				}
			}
		case tree.TypeFile:
			st.Files++
			st.RestoreSize += int64(n.Size)
			for _, c := range n.Content {
				if !c.IsHole() {
					if err := countBlob(c.ID, true); err != nil {
						return err
					}
				}
			}
		default:
			st.Files++
		}
	}
	return nil
}

// Finish computes the ratios.
func (st *Stats) Finish() {
	if st.UniqueRaw > 0 {
		st.DedupRatio = float64(st.RestoreSize) / float64(st.UniqueRaw)
	}
	if st.StoredSize > 0 {
		st.CompressionRatio = float64(st.UniqueRaw) / float64(st.StoredSize)
	}
}
