package repair

import (
	"context"
	"fmt"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/prune"
)

// PackResult says what SalvagePacks did.
type PackResult struct {
	Packs    int `json:"packs"`
	Salvaged int `json:"blobs_salvaged"`
	Lost     int `json:"blobs_lost"`
}

// SalvagePacks copies every blob that still decodes out of the given
// damaged packs into new packs, then drops the damaged packs from the index
// and deletes them. Blobs that do not decode are lost: run
// RepairSnapshots afterwards.
func SalvagePacks(ctx context.Context, r *repo.Repository, ids []crypto.ID, dryRun bool) (*PackResult, error) {
	res := &PackResult{}
	drop := map[crypto.ID]bool{}
	for _, id := range ids {
		h := backend.Handle{Type: backend.PackFile, Name: id.String()}
		data, err := backend.LoadAll(ctx, r.Backend(), h)
		if err != nil {
			return res, fmt.Errorf("load pack %s: %w", id.Short(), err)
		}
		pi, _, err := readPackInfo(ctx, r, id, int64(len(data)))
		if err != nil {
			// Nothing readable: every blob the index names for it is lost.
			pi = indexedPack(ctx, r, id)
		}
		res.Packs++
		aead := pack.KeyFor(r.Key(), pi.Salt)
		for _, b := range pi.Blobs {
			end := int64(b.Offset) + int64(b.Length)
			if end > int64(len(data)) {
				res.Lost++
				continue
			}
			plain, err := pack.DecodeBlob(r.Key(), aead, data[b.Offset:end], b, nil)
			if err != nil {
				res.Lost++
				continue
			}
			res.Salvaged++
			if !dryRun {
				if err := r.SaveBlobCopy(ctx, b.Type, b.ID, plain, id); err != nil {
					return res, err
				}
			}
		}
		drop[id] = true
	}
	if dryRun {
		return res, nil
	}
	if err := r.Flush(ctx); err != nil {
		return res, err
	}
	if err := prune.RewriteIndex(ctx, r, drop); err != nil {
		return res, err
	}
	for id := range drop {
		if err := r.Backend().Remove(ctx, backend.Handle{Type: backend.PackFile, Name: id.String()}); err != nil && !backend.IsNotExist(err) {
			return res, fmt.Errorf("remove pack %s: %w", id.Short(), err)
		}
	}
	return res, nil
}

func indexedPack(ctx context.Context, r *repo.Repository, id crypto.ID) index.PackInfo {
	var out index.PackInfo
	_ = r.ForEachIndexedPack(ctx, func(pi index.PackInfo) error {
		if pi.ID == id {
			out = pi
		}
		return nil
	})
	return out
}
