// Package copy copies snapshots from one repository to another (local to
// S3, one host's repository to a central one). Blob ids are keyed per
// repository, so every blob is re-identified under the destination's key
// and every tree rewritten; a blob the destination already holds is not
// stored again. Chunk boundaries are the source's: when both repositories
// use the same chunker parameters (init --copy-chunker-params-from), copied
// data deduplicates against the destination's own backups too.
//
// A snapshot already in the destination — one whose Original (or id)
// names the source snapshot, or with the same time, host, paths and kind —
// is skipped, so copy can run again and again. Unchanged directories and
// files of a snapshot whose predecessor was copied before are translated
// through that earlier pair of trees without reading their data.
package copy

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
)

// Options configure Copy.
type Options struct {
	// Workers bounds concurrent blob copies (default 4).
	Workers int
	// Copied is called after each snapshot is stored (or skipped, with
	// dst nil), for progress output.
	Copied func(src, dst *repo.Snapshot)
}

// Pair is a source snapshot and its copy.
type Pair struct {
	Src, Dst crypto.ID
}

// Result is what Copy did.
type Result struct {
	Copied  []Pair      // snapshots stored in the destination
	Skipped []crypto.ID // source snapshots the destination already has
	// BlobsLoaded counts source blobs read; BlobsTranslated those whose
	// destination id was known from an earlier copy, without reading.
	BlobsLoaded, BlobsTranslated int64
	// BytesLoaded is the plaintext read from the source.
	BytesLoaded int64
}

// Copy stores copies of sns (source snapshots) in dst, oldest first. The
// caller holds shared locks on both repositories and has synced dst's
// index under its lock, as a backup does. dst is flushed before each
// snapshot is saved, so a snapshot exists only once its data does.
func Copy(ctx context.Context, src, dst *repo.Repository, sns []*repo.Snapshot, opts Options) (*Result, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	existing, err := dst.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination snapshots: %w", err)
	}
	c := &copier{src: src, dst: dst, opts: opts, res: &Result{},
		trees: map[crypto.ID]crypto.ID{}, blobs: map[crypto.ID]crypto.ID{}, seeded: map[string]bool{}}
	have := newCopiedSet(existing)
	sns = slices.Clone(sns)
	repo.SortSnapshots(sns)
	for _, sn := range sns {
		if have.has(sn) {
			c.res.Skipped = append(c.res.Skipped, sn.ID)
			if opts.Copied != nil {
				opts.Copied(sn, nil)
			}
			continue
		}
		if err := c.seed(ctx, sn, existing); err != nil {
			return c.res, err
		}
		out, err := c.snapshot(ctx, sn)
		if err != nil {
			return c.res, fmt.Errorf("copy snapshot %s: %w", sn.ID.Short(), err)
		}
		existing = append(existing, out)
		have.add(out)
		c.res.Copied = append(c.res.Copied, Pair{Src: sn.ID, Dst: out.ID})
		if opts.Copied != nil {
			opts.Copied(sn, out)
		}
	}
	return c.res, nil
}

// copier holds the id translations of one Copy run.
type copier struct {
	src, dst *repo.Repository
	opts     Options
	res      *Result

	mu     sync.Mutex
	trees  map[crypto.ID]crypto.ID // source tree id → destination tree id
	blobs  map[crypto.ID]crypto.ID // source data blob id → destination id
	seeded map[string]bool         // host+paths groups whose last copy was walked
}

// snapshot copies one snapshot's trees and data, flushes, and stores it.
func (c *copier) snapshot(ctx context.Context, sn *repo.Snapshot) (*repo.Snapshot, error) {
	root, err := c.tree(ctx, sn.Tree)
	if err != nil {
		return nil, err
	}
	if err := c.dst.Flush(ctx); err != nil {
		return nil, err
	}
	out := *sn
	out.Tree = root
	out.Parent = nil // names a source snapshot; the destination's parent is found by host and paths
	orig := sn.ID
	if sn.Original != nil {
		orig = *sn.Original
	}
	out.Original = &orig
	if _, err := c.dst.SaveSnapshot(ctx, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// lookup returns the destination id of a source blob or tree from the
// translations, if the destination still holds it.
func (c *copier) lookup(m map[crypto.ID]crypto.ID, id crypto.ID) (crypto.ID, bool) {
	c.mu.Lock()
	to, ok := m[id]
	c.mu.Unlock()
	if !ok {
		return crypto.ID{}, false
	}
	_, found, err := c.dst.LookupBlob(to)
	return to, err == nil && found
}

// blob copies one data blob and returns its destination id.
func (c *copier) blob(ctx context.Context, id crypto.ID) (crypto.ID, error) {
	if to, ok := c.lookup(c.blobs, id); ok {
		c.mu.Lock()
		c.res.BlobsTranslated++
		c.mu.Unlock()
		return to, nil
	}
	data, err := c.src.LoadBlob(ctx, pack.DataBlob, id, nil)
	if err != nil {
		return crypto.ID{}, err
	}
	to, err := c.dst.SaveBlob(ctx, pack.DataBlob, data)
	if err != nil {
		return crypto.ID{}, err
	}
	c.mu.Lock()
	c.blobs[id] = to
	c.res.BlobsLoaded++
	c.res.BytesLoaded += int64(len(data))
	c.mu.Unlock()
	return to, nil
}
