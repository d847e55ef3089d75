package index

import (
	"errors"
	"fmt"

	"cairn/internal/crypto"
)

// Batch limits of Sync: an AddFiles call gets at most this many files or,
// once reached, blobs. Bigger batches are not faster (writes beyond one
// transaction go through a WriteBatch anyway) and cost memory.
const (
	syncBatchFiles = 256
	syncBatchBlobs = 200_000
)

// Sync brings the cache in line with the repository's index files, whose
// ids are listed: files the cache holds that are no longer listed are
// removed (RemoveFile, with the pack lists the cache kept), and listed
// files it does not hold are read with load and added in batches. New
// files are added before old ones are removed, so packs that a new file
// takes over from a superseded one stay in the cache throughout.
//
// A file that load cannot read is skipped and Sync goes on with the
// others; their errors are returned together at the end (the cache is
// then consistent but incomplete, and a later Sync retries the files).
// Any other error stops Sync.
func (c *Cache) Sync(listed []crypto.ID, load func(crypto.ID) (*File, error)) error {
	have, err := c.Files()
	if err != nil {
		return err
	}
	want := make(map[crypto.ID]bool, len(listed))
	var loadErrs []error
	var batch []NamedFile
	blobs := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.AddFiles(batch)
		batch, blobs = batch[:0], 0
		return err
	}
	for _, id := range listed {
		if want[id] {
			continue
		}
		want[id] = true
		if have[id] {
			continue
		}
		f, err := load(id)
		if err != nil {
			loadErrs = append(loadErrs, fmt.Errorf("index file %v: %w", id.Short(), err))
			continue
		}
		batch = append(batch, NamedFile{ID: id, File: f})
		blobs += f.BlobCount()
		if len(batch) >= syncBatchFiles || blobs >= syncBatchBlobs {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for id := range have {
		if !want[id] {
			if err := c.RemoveFile(id, nil); err != nil {
				return err
			}
		}
	}
	if len(loadErrs) > 0 {
		return fmt.Errorf("sync index cache: %d of %d index files unreadable: %w", len(loadErrs), len(want), errors.Join(loadErrs...))
	}
	return nil
}
