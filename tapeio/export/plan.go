package export

import (
	"context"
	"fmt"
	"sort"
	"time"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/tree"
	"cairn/tapeio/volume"
)

// PlanOptions select what an export writes.
type PlanOptions struct {
	// Snapshots to export; empty means every snapshot that Filter and
	// Since select.
	Snapshots []crypto.ID
	// Filter narrows "every snapshot" by host, tags and paths.
	Filter repo.Filter
	// Since, if not zero, leaves out snapshots taken before it (again
	// only when Snapshots is empty).
	Since time.Time
	// Incremental skips packs that a set in History already holds.
	Incremental bool
	// History is the local catalog (LoadLocalCatalog).
	History *LocalCatalog
	// BlockSize is used for the tape size estimate; 0 is the default.
	BlockSize int
}

// Plan is what an export will write, computed without touching a drive.
type Plan struct {
	RepoID      string
	Incremental bool
	// BaseSets are the earlier sets holding packs this set leaves out.
	BaseSets  []string
	Snapshots []*repo.Snapshot
	// SnapshotPacks lists, per snapshot, every pack it needs.
	SnapshotPacks map[crypto.ID][]crypto.ID
	Keys          []string
	Index         []string
	// Packs are written in this order: every pack holding trees first,
	// then the data packs, each group in the order the snapshots (oldest
	// first) use them. So a reader meets all trees before any data (what
	// tape restore needs to plan in one pass), and a snapshot's data lies
	// together on tape.
	Packs []PlannedPack
	// Elsewhere are needed packs already on earlier sets.
	Elsewhere []PackRef
	// MetaBytes is config, keys, snapshots and index (one copy);
	// PackBytes the packs; TapeBytesEstimate all blocks.
	MetaBytes         int64
	PackBytes         int64
	TapeBytesEstimate int64
}

// PlannedPack is one pack to write.
type PlannedPack struct {
	ID   crypto.ID `json:"id"`
	Size int64     `json:"size"`
}

// PlanExport decides what an export set holds. It reads snapshots, trees
// and the index; every blob a snapshot references must be indexed (run
// check and repair first otherwise).
func PlanExport(ctx context.Context, r *repo.Repository, opts PlanOptions) (*Plan, error) {
	p := &Plan{RepoID: r.Config().ID, Incremental: opts.Incremental, SnapshotPacks: map[crypto.ID][]crypto.ID{}}
	sns, err := selectSnapshots(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	p.Snapshots = sns
	sizes := map[crypto.ID]int64{}
	if err := r.Index().ForEachPack(func(pi index.PackInfo) error {
		sizes[pi.ID] = pi.Size
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var onTape map[crypto.ID]string
	if opts.Incremental && opts.History != nil {
		onTape = opts.History.PackSets()
	}
	planned := map[crypto.ID]bool{}
	base := map[string]bool{}
	var dataPacks []PlannedPack
	for _, sn := range sns {
		w, err := snapshotPacks(ctx, r, sn)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.ID.Short(), err)
		}
		p.SnapshotPacks[sn.ID] = append(append([]crypto.ID(nil), w.treePacks...), w.dataPacks...)
		for i, group := range [][]crypto.ID{w.treePacks, w.dataPacks} {
			for _, id := range group {
				if planned[id] {
					continue
				}
				planned[id] = true
				if set, ok := onTape[id]; ok {
					p.Elsewhere = append(p.Elsewhere, PackRef{ID: id, Set: set})
					base[set] = true
					continue
				}
				size, ok := sizes[id]
				if !ok {
					return nil, fmt.Errorf("pack %s is not indexed", id.Short())
				}
				if i == 0 {
					p.Packs = append(p.Packs, PlannedPack{ID: id, Size: size})
				} else {
					dataPacks = append(dataPacks, PlannedPack{ID: id, Size: size})
				}
				p.PackBytes += size
			}
		}
	}
	p.Packs = append(p.Packs, dataPacks...)
	for s := range base {
		p.BaseSets = append(p.BaseSets, s)
	}
	sort.Strings(p.BaseSets)
	if err := p.planMeta(ctx, r.Backend()); err != nil {
		return nil, err
	}
	p.estimate(opts.BlockSize)
	return p, nil
}

func selectSnapshots(ctx context.Context, r *repo.Repository, opts PlanOptions) ([]*repo.Snapshot, error) {
	var sns []*repo.Snapshot
	ids := opts.Snapshots
	if len(ids) == 0 {
		all, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		for _, sn := range all {
			if opts.Filter.Match(sn) && !sn.Time.Before(opts.Since) {
				sns = append(sns, sn)
			}
		}
		if len(sns) == 0 && len(all) > 0 {
			return nil, fmt.Errorf("%w: none of the %d snapshots matches the selection", ErrNothingSelected, len(all))
		}
	} else {
		seen := map[crypto.ID]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			sn, err := r.LoadSnapshot(ctx, id)
			if err != nil {
				return nil, err
			}
			sns = append(sns, sn)
		}
	}
	repo.SortSnapshots(sns)
	return sns, nil
}

// snapshotPacks lists the packs holding a snapshot's trees and those
// holding its data, each in order of first use (a pack holds one type).
func snapshotPacks(ctx context.Context, r *repo.Repository, sn *repo.Snapshot) (*packWalker, error) {
	w := &packWalker{r: r, seenTree: map[crypto.ID]bool{}, seenBlob: map[crypto.ID]bool{}, seenPack: map[crypto.ID]bool{}}
	if err := w.tree(ctx, sn.Tree); err != nil {
		return nil, err
	}
	return w, nil
}

type packWalker struct {
	r         *repo.Repository
	seenTree  map[crypto.ID]bool
	seenBlob  map[crypto.ID]bool
	seenPack  map[crypto.ID]bool
	treePacks []crypto.ID
	dataPacks []crypto.ID
}

func (w *packWalker) blob(id crypto.ID) error {
	if w.seenBlob[id] {
		return nil
	}
	w.seenBlob[id] = true
	e, ok, err := w.r.LookupBlob(id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("blob %s is not in the index (run check)", id.Short())
	}
	if !w.seenPack[e.Pack] {
		w.seenPack[e.Pack] = true
		if e.Type == pack.TreeBlob {
			w.treePacks = append(w.treePacks, e.Pack)
		} else {
			w.dataPacks = append(w.dataPacks, e.Pack)
		}
	}
	return nil
}

func (w *packWalker) tree(ctx context.Context, id crypto.ID) error {
	if w.seenTree[id] {
		return nil
	}
	w.seenTree[id] = true
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.blob(id); err != nil {
		return err
	}
	t, err := w.r.LoadTree(ctx, id)
	if err != nil {
		return err
	}
	for _, n := range t.Nodes {
		for _, c := range n.Content {
			if !c.ID.IsNull() {
				if err := w.blob(c.ID); err != nil {
					return err
				}
			}
		}
		if n.Type == tree.TypeDir && n.Subtree != nil {
			if err := w.tree(ctx, *n.Subtree); err != nil {
				return err
			}
		}
	}
	return nil
}

// planMeta lists key and index files and sums the metadata sizes.
func (p *Plan) planMeta(ctx context.Context, be backend.Backend) error {
	add := func(t backend.FileType, dst *[]string) error {
		return be.List(ctx, t, func(fi backend.FileInfo) error {
			if _, err := crypto.ParseID(fi.Name); err != nil {
				return nil // not a repository file
			}
			*dst = append(*dst, fi.Name)
			p.MetaBytes += fi.Size
			return nil
		})
	}
	if err := add(backend.KeyFile, &p.Keys); err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if err := add(backend.IndexFile, &p.Index); err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	sort.Strings(p.Keys)
	sort.Strings(p.Index)
	fi, err := be.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	p.MetaBytes += fi.Size + int64(len(p.Snapshots))*1024 // snapshots: about 1 KiB each
	return nil
}

// estimate computes the blocks the set will take: every tape file rounds
// up to whole blocks, plus label, catalog and trailer blocks.
func (p *Plan) estimate(blockSize int) {
	if blockSize == 0 {
		blockSize = volume.DefaultBlockSize
	}
	room := int64(blockSize - volume.HeaderSize - 80)
	blocks := func(n int64) int64 { return max(1, (n+room-1)/room) }
	total := 2*blocks(p.MetaBytes) + 4 // two copies of the metadata, label, catalog, trailer
	for _, pk := range p.Packs {
		total += blocks(pk.Size)
	}
	p.TapeBytesEstimate = total * int64(blockSize)
}
