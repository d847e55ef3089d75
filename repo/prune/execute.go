package prune

import (
	"context"
	"fmt"
	"os"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
)

// packsPerIndexFile bounds the size of the index files prune writes, so
// that rewriting the index never holds more than one file's worth.
const packsPerIndexFile = 2000

// Result counts what Execute did.
type Result struct {
	PacksDeleted   int   `json:"packs_deleted"`
	BytesDeleted   int64 `json:"bytes_deleted"`
	PacksRevived   int   `json:"packs_revived"`
	PacksMarked    int   `json:"packs_marked"`
	BlobsRepacked  int   `json:"blobs_repacked"`
	IndexRewritten bool  `json:"index_rewritten"`
}

// Execute carries out a plan: phase 2 (delete the due records' unused
// packs: first from the index, then from storage), then phase 1 (record
// new candidates, then copy the used blobs out of packs to repack).
func Execute(ctx context.Context, r *repo.Repository, p *Plan) (*Result, error) {
	res := &Result{}
	if len(p.Delete) > 0 {
		del := map[crypto.ID]bool{}
		for _, id := range p.Delete {
			del[id] = true
		}
		// The index must stop naming a pack before the pack disappears.
		if err := RewriteIndex(ctx, r, del); err != nil {
			return res, err
		}
		res.IndexRewritten = true
		for _, id := range p.Delete {
			err := r.Backend().Remove(ctx, backend.Handle{Type: backend.PackFile, Name: id.String()})
			if err != nil && !backend.IsNotExist(err) {
				return res, fmt.Errorf("delete pack %s: %w", id.Short(), err)
			}
			res.PacksDeleted++
		}
		res.BytesDeleted = p.DeleteSize
	}
	res.PacksRevived = len(p.Revive)
	for _, rec := range p.DueRecords {
		if err := r.RemoveDeletionRecord(ctx, rec); err != nil {
			return res, err
		}
	}

	var marked []crypto.ID
	marked = append(marked, p.Unused...)
	marked = append(marked, p.Unindexed...)
	for _, u := range p.Repack {
		marked = append(marked, u.ID)
	}
	if len(marked) == 0 {
		return res, nil
	}
	host, _ := os.Hostname()
	// The record is written before repacking: it makes the old packs
	// doomed, so SaveBlob stores their used blobs anew.
	if err := r.SaveDeletionRecord(ctx, &repo.DeletionRecord{Time: r.Now(), Host: host, Packs: marked}); err != nil {
		return res, err
	}
	res.PacksMarked = len(marked)
	for _, u := range p.Repack {
		n, err := repack(ctx, r, u)
		res.BlobsRepacked += n
		if err != nil {
			return res, err
		}
	}
	if err := r.Flush(ctx); err != nil {
		return res, err
	}
	return res, nil
}

func repack(ctx context.Context, r *repo.Repository, u PackUse) (int, error) {
	n := 0
	var buf []byte
	for _, b := range u.Used {
		e := index.Entry{Type: b.Type, ID: b.ID, Pack: u.ID, Offset: b.Offset, Length: b.Length, RawLength: b.RawLength}
		data, err := r.LoadPackBlob(ctx, e, u.Salt, buf)
		if err != nil {
			return n, fmt.Errorf("repack pack %s: %w", u.ID.Short(), err)
		}
		buf = data
		if _, err := r.SaveBlobWithID(ctx, b.Type, b.ID, data); err != nil {
			return n, fmt.Errorf("repack blob %s: %w", b.ID.Short(), err)
		}
		n++
	}
	return n, nil
}

// RewriteIndex replaces every index file by new ones that omit the packs
// in drop. New files are stored before old ones are removed, so a crash
// leaves duplicates, never a gap. Index files written concurrently after
// the listing are left alone.
func RewriteIndex(ctx context.Context, r *repo.Repository, drop map[crypto.ID]bool) error {
	var old []crypto.ID
	err := r.Backend().List(ctx, backend.IndexFile, func(fi backend.FileInfo) error {
		if id, err := crypto.ParseID(fi.Name); err == nil {
			old = append(old, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index files: %w", err)
	}
	out := &index.File{}
	seen := map[crypto.ID]bool{}
	flush := func() error {
		if len(out.Packs) == 0 {
			return nil
		}
		if err := r.SaveIndex(ctx, out); err != nil {
			return err
		}
		out = &index.File{}
		return nil
	}
	for _, id := range old {
		f, err := r.LoadIndexFile(ctx, id)
		if err != nil {
			return fmt.Errorf("rewrite index: %w", err)
		}
		for _, pi := range f.Packs {
			if drop[pi.ID] || seen[pi.ID] {
				continue
			}
			seen[pi.ID] = true
			out.Packs = append(out.Packs, pi)
			if len(out.Packs) >= packsPerIndexFile {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, id := range old {
		err := r.Backend().Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: id.String()})
		if err != nil && !backend.IsNotExist(err) {
			return fmt.Errorf("remove index %s: %w", id.Short(), err)
		}
	}
	return r.SyncIndex(ctx)
}
