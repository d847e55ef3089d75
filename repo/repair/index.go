// Package repair rebuilds what check finds broken: the index from pack
// contents, snapshots that reference lost data, and damaged packs whose
// intact blobs can be salvaged. Each repair plans first and can run dry.
package repair

import (
	"context"
	"fmt"
	"io"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
)

// IndexResult says what RebuildIndex did.
type IndexResult struct {
	Packs     int      `json:"packs"`
	Blobs     int      `json:"blobs"`
	Scanned   int      `json:"scanned"`   // packs read front to back (trailer unreadable)
	Unusable  []string `json:"unusable"`  // packs with no readable blob at all
	Truncated []string `json:"truncated"` // packs whose tail is damaged: only the blobs before it are indexed
}

// backendReaderAt reads a pack through ranged backend loads.
type backendReaderAt struct {
	ctx context.Context
	be  backend.Backend
	h   backend.Handle
}

func (b backendReaderAt) ReadAt(p []byte, off int64) (int, error) {
	data, err := backend.LoadRange(b.ctx, b.be, b.h, off, len(p))
	if err != nil {
		return 0, err
	}
	return copy(p, data), nil
}

// RebuildIndex reads every pack (its trailer, or front to back when the
// trailer is damaged) and replaces all index files by ones built from what
// the packs hold. With dryRun it only reports.
func RebuildIndex(ctx context.Context, r *repo.Repository, dryRun bool) (*IndexResult, error) {
	res := &IndexResult{}
	var infos []index.PackInfo
	var files []backend.FileInfo
	if err := r.Backend().List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		files = append(files, fi)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	for _, fi := range files {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			continue
		}
		pi, how, err := readPackInfo(ctx, r, id, fi.Size)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Unusable = append(res.Unusable, fmt.Sprintf("%s: %v", id.Short(), err))
			continue
		}
		switch how {
		case "scan":
			res.Scanned++
		case "truncated":
			res.Scanned++
			res.Truncated = append(res.Truncated, id.String())
		}
		res.Packs++
		res.Blobs += len(pi.Blobs)
		infos = append(infos, pi)
	}
	if dryRun {
		return res, nil
	}
	return res, replaceIndex(ctx, r, infos)
}

// readPackInfo lists a pack's blobs from its trailer, falling back to a
// keyless front-to-back scan.
func readPackInfo(ctx context.Context, r *repo.Repository, id crypto.ID, size int64) (index.PackInfo, string, error) {
	h := backend.Handle{Type: backend.PackFile, Name: id.String()}
	pi := index.PackInfo{ID: id, Size: size}
	salt, blobs, err := pack.List(r.Key(), backendReaderAt{ctx, r.Backend(), h}, size)
	if err == nil {
		pi.Salt, pi.Blobs = salt, blobs
		return pi, "trailer", nil
	}
	var scanned []pack.Blob
	var scanErr error
	err = r.Backend().Load(ctx, h, 0, 0, func(rd io.Reader) error {
		scanned = scanned[:0]
		salt, scanErr = pack.Scan(rd, func(b pack.Blob) error {
			scanned = append(scanned, b)
			return nil
		})
		return nil
	})
	if err != nil {
		return pi, "", fmt.Errorf("load pack: %w", err)
	}
	if len(scanned) == 0 {
		if scanErr == nil {
			scanErr = fmt.Errorf("no blobs")
		}
		return pi, "", scanErr
	}
	pi.Salt, pi.Blobs = salt, scanned
	if scanErr != nil {
		return pi, "truncated", nil
	}
	return pi, "scan", nil
}

// replaceIndex stores index files for infos and removes every index file
// that existed before (new files first: a crash leaves duplicates).
func replaceIndex(ctx context.Context, r *repo.Repository, infos []index.PackInfo) error {
	var old []crypto.ID
	if err := r.Backend().List(ctx, backend.IndexFile, func(fi backend.FileInfo) error {
		if id, err := crypto.ParseID(fi.Name); err == nil {
			old = append(old, id)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("list index files: %w", err)
	}
	const perFile = 2000
	for i := 0; i < len(infos); i += perFile {
		f := &index.File{Packs: infos[i:min(i+perFile, len(infos))]}
		if err := r.SaveIndex(ctx, f); err != nil {
			return err
		}
	}
	for _, id := range old {
		if err := r.Backend().Remove(ctx, backend.Handle{Type: backend.IndexFile, Name: id.String()}); err != nil && !backend.IsNotExist(err) {
			return fmt.Errorf("remove index %s: %w", id.Short(), err)
		}
	}
	return r.SyncIndex(ctx)
}
