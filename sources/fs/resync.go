package fs

import (
	"context"
	"fmt"
	"io"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/repo/tree"
)

// A changed file's data regions are chunked against its parent's chunks
// when they are large: each parent chunk the region still holds is read
// and hashed, and chunker.Resync then re-chunks only around the chunks
// whose ids differ, reusing the others. Hashing (BLAKE3) runs about three
// times as fast as the Rabin chunker, so a large file with a few changes
// (a disk image, a database file, a growing log) costs a read and a hash
// instead of a read and a chunking. The chunks are exactly those of a full
// chunking (Resync's contract, given that every differing byte lies in a
// chunk whose id differs).
const (
	// resyncMinFile is the smallest file worth it: a changed small file
	// has usually changed throughout, and is cheap to chunk. Its regions
	// may be small (a sparse image's data runs between holes).
	resyncMinFile = 16 << 20
	// resyncProbe chunks are compared before giving up on a region whose
	// chunks all differ (a re-dump with scattered changes): past that, the
	// region is chunked in parallel as if it had no parent.
	resyncProbe = 8
)

// parentRuns maps the start offset of each data run of a parent file's
// content (maximal runs of chunks between holes) to the run's chunks, with
// offsets relative to the run's start. Runs that cannot be a chunking with
// p (a damaged or foreign parent tree) are left out: their regions are
// chunked as if there were no parent.
func parentRuns(pn *tree.Node, p chunker.Params) map[int64][]chunker.OldChunk {
	if pn == nil || pn.Type != tree.TypeFile || len(pn.Content) == 0 {
		return nil
	}
	runs := map[int64][]chunker.OldChunk{}
	var off, start int64
	var run []chunker.OldChunk
	keep := func() {
		if len(run) > 0 && plausibleRun(run, p) {
			runs[start] = run
		}
		run = nil
	}
	for _, c := range pn.Content {
		if c.IsHole() {
			keep()
		} else {
			if len(run) == 0 {
				start = off
			}
			run = append(run, chunker.OldChunk{Offset: off - start, Size: int64(c.Size), ID: c.ID})
		}
		off += int64(c.Size)
	}
	keep()
	return runs
}

// plausibleRun reports whether run's sizes fit a chunking with p: every
// chunk within MinSize..MaxSize but the last, which may be shorter.
func plausibleRun(run []chunker.OldChunk, p chunker.Params) bool {
	for i, c := range run {
		if c.Size <= 0 || c.Size > int64(p.MaxSize) || (i < len(run)-1 && c.Size < int64(p.MinSize)) {
			return false
		}
	}
	return true
}

// resyncRegion saves the region [off, off+length) of ra, whose parent run
// starting at off is old. It reports false, having saved nothing, when the
// probe finds the region too changed to gain from the parent.
func (r *run) resyncRegion(ctx context.Context, ra *countingReaderAt, off, length int64, old []chunker.OldChunk, cs *contentSaver) (bool, error) {
	var dirty []chunker.Extent
	var dirtyBytes, compared int64
	var buf []byte
	for i, oc := range old {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if oc.Offset >= length {
			break
		}
		end := oc.Offset + oc.Size
		if end > length { // cut short by the region's end: re-chunked
			dirty = append(dirty, chunker.Extent{Offset: oc.Offset, Length: length - oc.Offset})
			break
		}
		if cap(buf) < int(oc.Size) {
			buf = make([]byte, oc.Size)
		}
		buf = buf[:oc.Size]
		if n, err := ra.ReadAt(buf, off+oc.Offset); n < len(buf) {
			return false, fmt.Errorf("file shrank during backup (read %d of %d bytes at %d): %w", n, len(buf), off+oc.Offset, err)
		}
		compared += oc.Size
		if r.repo.BlobID(buf) != crypto.ID(oc.ID) {
			dirty = append(dirty, chunker.Extent{Offset: oc.Offset, Length: oc.Size})
			dirtyBytes += oc.Size
		}
		if i+1 == resyncProbe && dirtyBytes*2 > compared {
			return false, nil
		}
	}
	_, err := chunker.Resync(ctx, io.NewSectionReader(ra, off, length), length, old, dirty, r.opts.Chunker,
		func(c chunker.Chunk, reuse *chunker.OldChunk) error {
			if reuse != nil {
				cs.known(crypto.ID(reuse.ID), reuse.Size)
				return nil
			}
			return cs.add(c.Data)
		})
	return true, err
}
