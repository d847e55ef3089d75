package index

import (
	"errors"
	"fmt"
	"sync"

	"cairn/internal/crypto"
)

// Limits of Sync: an AddFiles call gets at most syncBatchFiles files or,
// once reached, syncBatchBlobs blobs (bigger batches are not faster, since
// writes beyond one transaction go through a WriteBatch anyway, and cost
// memory); index files are loaded by up to syncLoaders goroutines, as
// loading is mostly waiting for the backend.
const (
	syncBatchFiles = 256
	syncBatchBlobs = 200_000
	syncLoaders    = 8
)

// Sync brings the cache in line with the repository's index files, whose
// ids are listed: listed files the cache does not hold are read with load
// and added in batches, then files the cache holds that are no longer
// listed are removed (RemoveFile, with the pack lists the cache kept).
// Adding first keeps the packs that a merged file takes over from the
// files it supersedes in the cache throughout.
//
// load is called from up to 8 goroutines at once. It returns (nil, nil)
// for a file that has gone since the listing (a prune replaced it): the
// file is skipped. A file load cannot read is skipped too, and Sync goes
// on with the others; those errors are returned together at the end (the
// cache is then consistent but incomplete, and a later Sync retries the
// files). Any other error stops Sync.
func (c *Cache) Sync(listed []crypto.ID, load func(crypto.ID) (*File, error)) error {
	have, err := c.Files()
	if err != nil {
		return err
	}
	want := make(map[crypto.ID]bool, len(listed))
	var todo []crypto.ID
	for _, id := range listed {
		if !want[id] && !have[id] {
			todo = append(todo, id)
		}
		want[id] = true
	}
	loadErrs, err := c.addLoaded(todo, load)
	if err != nil {
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

// addLoaded loads the files todo names in parallel and adds them in
// batches. It returns the load errors, and the first error of AddFiles,
// after which it loads nothing more.
func (c *Cache) addLoaded(todo []crypto.ID, load func(crypto.ID) (*File, error)) (loadErrs []error, err error) {
	type loaded struct {
		id  crypto.ID
		f   *File
		err error
	}
	ids := make(chan crypto.ID)
	results := make(chan loaded)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range min(syncLoaders, len(todo)) {
		wg.Go(func() {
			for id := range ids {
				f, err := load(id)
				results <- loaded{id, f, err}
			}
		})
	}
	go func() {
		defer func() {
			close(ids)
			wg.Wait()
			close(results)
		}()
		for _, id := range todo {
			select {
			case ids <- id:
			case <-stop:
				return
			}
		}
	}()

	var batch []NamedFile
	blobs := 0
	flush := func() {
		if len(batch) > 0 && err == nil {
			if err = c.AddFiles(batch); err != nil {
				close(stop)
			}
		}
		batch, blobs = batch[:0], 0
	}
	// Drain results even after an error, so no loader blocks forever.
	for r := range results {
		switch {
		case err != nil:
		case r.err != nil:
			loadErrs = append(loadErrs, fmt.Errorf("index file %v: %w", r.id.Short(), r.err))
		case r.f != nil:
			batch = append(batch, NamedFile{ID: r.id, File: r.f})
			blobs += r.f.BlobCount()
			if len(batch) >= syncBatchFiles || blobs >= syncBatchBlobs {
				flush()
			}
		}
	}
	flush()
	return loadErrs, err
}
