// Package check verifies a repository: structure (every referenced blob is
// indexed, every indexed pack exists with the indexed size, packs nobody
// indexes are reported) and, optionally, data (every pack re-hashed, every
// blob decrypted, decompressed and re-hashed). Damage is traced back to the
// snapshots and files it affects.
package check

import (
	"cairn/repo/blobset"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/tree"
	"cairn/repo/walk"
)

// Problem is one finding.
type Problem struct {
	Kind    string `json:"kind"` // missing_blob, missing_pack, pack_size, unindexed_pack, damaged_pack, damaged_blob, tree, snapshot, index
	Message string `json:"message"`
	Pack    string `json:"pack,omitempty"`
	Blob    string `json:"blob,omitempty"`
}

// Affected names a snapshot file hit by damage.
type Affected struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
}

// Report is the result of a check.
type Report struct {
	Snapshots int       `json:"snapshots"`
	Trees     int       `json:"trees"`
	Blobs     int       `json:"blobs_referenced"`
	Packs     int       `json:"packs"`
	PacksRead int       `json:"packs_read"`
	BytesRead int64     `json:"bytes_read"`
	Problems  []Problem `json:"problems"`
	// UnindexedPacks are packs that no index file names: what a backup
	// killed between storing a pack and its index leaves. They are not a
	// problem (no snapshot can refer to their blobs through the index:
	// a snapshot blob missing from the index is reported as a problem);
	// prune deletes them and `repair index` adopts them.
	UnindexedPacks []string   `json:"unindexed_packs,omitempty"`
	Affected       []Affected `json:"affected,omitempty"`
	Unused         int        `json:"unused_blobs"`
	TimedOut       bool       `json:"timed_out,omitempty"`
	damagedBlobs   map[crypto.ID]bool
	// indexedBlobs holds every indexed blob as a typed 64-bit prefix: the
	// snapshot walk tests membership here instead of looking each blob up
	// in the badger cache, whose pages would all end up resident. A
	// missing blob hides behind an indexed one with probability ~n/2⁶³.
	indexedBlobs blobset.Set
}

// Clean reports whether nothing is wrong. Unindexed packs and unused
// blobs are not problems (prune removes them).
func (r *Report) Clean() bool { return len(r.Problems) == 0 }

func (r *Report) add(p Problem) { r.Problems = append(r.Problems, p) }

// checkPacks compares the index with the packs in the backend.
func checkPacks(ctx context.Context, r *repo.Repository, rep *Report) error {
	stored := map[crypto.ID]int64{}
	err := r.Backend().List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			rep.add(Problem{Kind: "unindexed_pack", Message: fmt.Sprintf("file data/%s is not a pack name", fi.Name)})
			return nil
		}
		stored[id] = fi.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("list packs: %w", err)
	}
	indexed := map[crypto.ID]bool{}
	err = r.ForEachIndexedPack(ctx, func(p index.PackInfo) error {
		rep.Packs++
		indexed[p.ID] = true
		for _, b := range p.Blobs {
			rep.indexedBlobs.AddTyped(b.ID, uint8(b.Type))
		}
		size, ok := stored[p.ID]
		switch {
		case !ok:
			rep.add(Problem{Kind: "missing_pack", Pack: p.ID.String(), Message: fmt.Sprintf("pack %s is indexed but missing", p.ID.Short())})
			for _, b := range p.Blobs {
				rep.damagedBlobs[b.ID] = true
			}
		case p.Size != 0 && size != p.Size:
			rep.add(Problem{Kind: "pack_size", Pack: p.ID.String(), Message: fmt.Sprintf("pack %s has %d bytes, index says %d", p.ID.Short(), size, p.Size)})
			for _, b := range p.Blobs {
				if int64(b.Offset)+int64(b.Length) > size {
					rep.damagedBlobs[b.ID] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	for id := range stored {
		if !indexed[id] {
			rep.UnindexedPacks = append(rep.UnindexedPacks, id.String())
		}
	}
	slices.Sort(rep.UnindexedPacks)
	return nil
}

// walkResult is what the snapshot walk found; it is merged into the
// Report once known to be final (see Run).
type walkResult struct {
	snapshots, trees, blobs int
	problems                []Problem
	affected                []Affected
}

func (wr *walkResult) mergeInto(rep *Report) {
	rep.Snapshots, rep.Trees, rep.Blobs = wr.snapshots, wr.trees, wr.blobs
	rep.Problems = append(rep.Problems, wr.problems...)
	rep.Affected = append(rep.Affected, wr.affected...)
	sort.Slice(rep.Affected, func(i, j int) bool {
		if rep.Affected[i].Snapshot != rep.Affected[j].Snapshot {
			return rep.Affected[i].Snapshot < rep.Affected[j].Snapshot
		}
		return rep.Affected[i].Path < rep.Affected[j].Path
	})
}

const (
	treeAheadLoads = 4   // tree loads running at once in the snapshot walk
	treeAheadMax   = 256 // loads started and not yet taken
)

// checkSnapshots walks every snapshot's trees, checking that each blob is
// in indexed; the damaged blobs given (which it does not modify) are
// traced to files.
func checkSnapshots(ctx context.Context, r *repo.Repository, indexed *blobset.Set, damaged map[crypto.ID]bool) (*walkResult, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	wr := &walkResult{}
	// The walk is depth first on one goroutine and runs after the data
	// was read: the trees it visits next are loaded in the background.
	ctx, cancel := context.WithCancel(ctx)
	ahead := walk.NewAhead(r, treeAheadLoads, treeAheadMax, 0)
	defer ahead.Wait()
	defer cancel() // before Wait: loads not taken stop
	seenTree := map[crypto.ID]bool{}
	// Referenced blobs are counted in a compact set (8 bytes each) and
	// looked up in the index every time: a map of full ids would grow to
	// gigabytes with the repository.
	seenBlob := &blobset.Set{}
	damaged = maps.Clone(damaged) // the walk adds the blobs it finds missing
	for _, id := range ids {
		sn, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			wr.problems = append(wr.problems, Problem{Kind: "snapshot", Message: err.Error()})
			continue
		}
		wr.snapshots++
		w := &walker{r: r, ahead: ahead, res: wr, indexed: indexed, damaged: damaged, sn: sn, seenTree: seenTree, seenBlob: seenBlob}
		if err := w.tree(ctx, sn.Tree, "/"); err != nil {
			return nil, err
		}
	}
	wr.blobs = seenBlob.Len()
	return wr, nil
}

type walker struct {
	r        *repo.Repository
	ahead    *walk.Ahead
	res      *walkResult
	indexed  *blobset.Set
	damaged  map[crypto.ID]bool
	sn       *repo.Snapshot
	seenTree map[crypto.ID]bool
	seenBlob *blobset.Set
}

func (w *walker) blob(id crypto.ID, t pack.BlobType, p string) error {
	if w.damaged[id] {
		w.res.affected = append(w.res.affected, Affected{Snapshot: w.sn.ID.String(), Path: p})
		return nil
	}
	w.seenBlob.Add(id)
	if !w.indexed.HasTyped(id, uint8(t)) {
		w.damaged[id] = true
		w.res.problems = append(w.res.problems, Problem{Kind: "missing_blob", Blob: id.String(), Message: fmt.Sprintf("%s blob %s of %s in snapshot %s is not in the index", t, id.Short(), p, w.sn.ID.Short())})
		w.res.affected = append(w.res.affected, Affected{Snapshot: w.sn.ID.String(), Path: p})
	}
	return nil
}

func (w *walker) tree(ctx context.Context, id crypto.ID, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	before := len(w.res.affected)
	if err := w.blob(id, pack.TreeBlob, dir); err != nil {
		return err
	}
	if len(w.res.affected) > before {
		return nil // the tree itself is lost
	}
	if w.seenTree[id] && !w.treeHasDamage(id) {
		return nil
	}
	w.seenTree[id] = true
	w.res.trees++
	t, err := w.ahead.Take(ctx, id)
	if err != nil {
		w.res.problems = append(w.res.problems, Problem{Kind: "tree", Blob: id.String(), Message: fmt.Sprintf("tree %s (%s in snapshot %s): %v", id.Short(), dir, w.sn.ID.Short(), err)})
		w.res.affected = append(w.res.affected, Affected{Snapshot: w.sn.ID.String(), Path: dir})
		return nil
	}
	for _, n := range t.Nodes {
		if n.Type == tree.TypeDir && n.Subtree != nil && !w.seenTree[*n.Subtree] {
			w.ahead.Start(ctx, *n.Subtree, true)
		}
	}
	for _, n := range t.Nodes {
		p := path.Join(dir, n.Name)
		switch {
		case n.Type == tree.TypeDir && n.Subtree != nil:
			if err := w.tree(ctx, *n.Subtree, p); err != nil {
				return err
			}
		case n.Type == tree.TypeFile:
			hit := false
			for _, c := range n.Content {
				if c.IsHole() {
					continue
				}
				before := len(w.res.affected)
				if err := w.blob(c.ID, pack.DataBlob, p); err != nil {
					return err
				}
				if len(w.res.affected) > before {
					if hit {
						w.res.affected = w.res.affected[:before] // one entry per file
					}
					hit = true
				}
			}
		}
	}
	return nil
}

// treeHasDamage reports whether damage is known at all; a shared subtree
// must then be walked again so that each snapshot's files are named.
func (w *walker) treeHasDamage(crypto.ID) bool { return len(w.damaged) > 0 }
