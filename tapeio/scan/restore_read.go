package scan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	fsrestore "cairn/sources/fs/restore"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// readPasses reads the sets' volumes in order, once, or twice when data
// went by before the plan could be made.
func (x *tapeRestore) readPasses(ctx context.Context) error {
	for pass := 1; pass <= 2; pass++ {
		x.rep.Passes = pass
		x.skipped = false
		err := x.readSets(ctx)
		if errors.Is(err, errStop) {
			return nil // everything needed was written
		}
		if err != nil {
			return err
		}
		if x.plan == nil {
			// Trees are still missing: restore what the others allow.
			if err := x.makePlan(true); err != nil {
				return err
			}
		}
		if !x.skipped || len(x.plan.need) == 0 {
			break
		}
		if pass == 1 {
			x.rep.Note = "data packs came before the trees needed to place their blobs (a set written before tree packs came first, or trees on another set): read the volumes a second time"
			x.opts.Log("tape restore: %s\n", x.rep.Note)
		}
	}
	if x.plan != nil {
		x.plan.settle(x.why)
		x.rep.MissingTrees = x.plan.missingTrees
	}
	return nil
}

// readSets reads every set, the snapshot's first, until nothing is
// needed any more (errStop).
func (x *tapeRestore) readSets(ctx context.Context) error {
	for _, s := range x.sets {
		if !slices.Contains(x.rep.Sets, s.id.String()) {
			x.rep.Sets = append(x.rep.Sets, s.id.String())
		}
		if err := x.readSet(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// readSet reads a set's volumes in sequence order.
func (x *tapeRestore) readSet(ctx context.Context, s *tapeSet) error {
	seqs := make([]uint32, 0, len(s.media))
	for seq := range s.media {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	x.noteMissing(s, seqs)
	streams := map[uint32]*packStream{} // by set file; nil: skipped
	names := map[uint32]crypto.ID{}
	defer func() {
		for _, st := range streams {
			if st != nil {
				st.finish()
			}
		}
	}()
	for _, seq := range seqs {
		if x.plan != nil && len(x.plan.need) == 0 {
			return errStop
		}
		i := s.media[seq]
		name := x.m.Name(i)
		d, err := x.m.Open(ctx, i)
		if err != nil {
			x.rep.Unreadable = append(x.rep.Unreadable, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		info, err := readVolume(ctx, d, func(volume.Label) {}, func(k block) error {
			return x.block(k, streams, names)
		}, func(be *volume.BlockError) {
			x.rep.Damaged = append(x.rep.Damaged, Damage{Medium: name, SetID: s.id.String(), VolumeSeq: be.VolumeSeq, TapeFile: be.TapeFile, Block: be.Block, Error: be.Err.Error()})
		})
		x.m.Release()
		info.Medium = name
		if info.EndOfSet > 0 && s.total == 0 {
			s.total = info.EndOfSet
			x.noteMissing(s, seqs)
		}
		x.rep.Volumes = append(x.rep.Volumes, info)
		x.rep.TapeBytes += int64(info.Blocks) * int64(info.Label.BlockSize)
		x.opts.Log("read %s: volume %d of set %.8s, %d blocks\n", name, info.Label.Seq, s.id, info.Blocks)
		if err != nil {
			return err
		}
	}
	return nil
}

// noteMissing records the volumes of s below its highest (or, once the
// end-of-set trailer was read, its last) sequence number that were not
// offered.
func (x *tapeRestore) noteMissing(s *tapeSet, seqs []uint32) {
	last := max(s.total, seqs[len(seqs)-1])
	for v := uint32(1); v <= last; v++ {
		m := fmt.Sprintf("set %.8s volume %d", s.id, v)
		if _, ok := s.media[v]; !ok && !slices.Contains(x.rep.Missing, m) {
			x.rep.Missing = append(x.rep.Missing, m)
		}
	}
}

// block handles one intact block of a set being read.
func (x *tapeRestore) block(k block, streams map[uint32]*packStream, names map[uint32]crypto.ID) error {
	if k.kind != volume.KindPack {
		return nil
	}
	if k.hasName {
		if id, ok := export.ParsePackName(k.name); ok {
			names[k.setFile] = id
		}
	}
	st, seen := streams[k.setFile]
	if !seen {
		id, ok := names[k.setFile]
		if !ok {
			return nil // its first block was damaged: its blobs count as missing
		}
		var err error
		if st, err = x.stream(id); err != nil {
			return err
		}
		streams[k.setFile] = st
	}
	if st == nil {
		return nil
	}
	if err := st.add(k.dataOffset, k.data); err != nil {
		return err
	}
	if k.flags&volume.FlagLast != 0 || st.done() {
		st.finish()
		streams[k.setFile] = nil
		if x.plan != nil && len(x.plan.need) == 0 {
			return errStop
		}
	}
	return nil
}

// stream decides what to take from pack id: its trees while the plan is
// not made, the needed data blobs once it is; nil skips the pack.
func (x *tapeRestore) stream(id crypto.ID) (*packStream, error) {
	if pi, ok := x.treePacks[id]; ok {
		if x.plan != nil {
			return nil, nil
		}
		var want []pack.Blob
		for _, b := range pi.Blobs {
			if _, have := x.trees[b.ID]; !have {
				want = append(want, b)
			}
		}
		return newPackStream(x.key, pi, want, func(b pack.Blob, plain []byte) error {
			x.trees[b.ID] = append([]byte(nil), plain...)
			x.newTrees = true
			return nil
		}, func(pack.Blob, error) {}), nil
	}
	if x.plan == nil {
		// Walking the snapshot again is worth it only with new trees.
		if x.newTrees {
			x.newTrees = false
			if err := x.makePlan(false); err != nil {
				return nil, err
			}
		}
		if x.plan == nil {
			x.skipped = true
			return nil, nil
		}
	}
	pi, ok := x.dataPacks[id]
	if !ok {
		return nil, nil
	}
	var want []pack.Blob
	for _, b := range pi.Blobs {
		if x.plan.wants(b.ID) {
			want = append(want, b)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	return newPackStream(x.key, pi, want, func(b pack.Blob, plain []byte) error {
		if !x.plan.wants(b.ID) {
			return nil // written from another copy
		}
		if uint32(len(plain)) != b.RawLength {
			x.why[b.ID] = fmt.Errorf("blob %s has %d bytes, index says %d", b.ID.Short(), len(plain), b.RawLength)
			return nil
		}
		return x.plan.write(b, plain)
	}, func(b pack.Blob, why error) {
		if x.plan.wants(b.ID) {
			x.why[b.ID] = why
		}
	}), nil
}

// makePlan plans the restore from the trees read so far (see makePlan),
// stages the files and keeps the index entries of the data packs that
// hold needed blobs.
func (x *tapeRestore) makePlan(partial bool) error {
	p, ok, err := makePlan(x.root, x.trees, x.sel, x.opts.Target, partial)
	if err != nil || !ok {
		return err
	}
	if err := p.createStaged(); err != nil {
		return err
	}
	x.plan = p
	x.dataPacks = map[crypto.ID]*index.PackInfo{}
	for _, data := range x.indexFiles {
		f, err := index.Decode(x.fileAEAD, data)
		if err != nil {
			continue
		}
		for _, pi := range f.Packs {
			var blobs []pack.Blob
			for _, b := range pi.Blobs {
				if b.Type == pack.DataBlob && p.wants(b.ID) {
					blobs = append(blobs, b)
				}
			}
			if len(blobs) > 0 {
				x.dataPacks[pi.ID] = &index.PackInfo{ID: pi.ID, Salt: pi.Salt, Size: pi.Size, Blobs: blobs}
			}
		}
	}
	x.indexFiles = nil
	x.treePacks = nil
	x.opts.Log("tape restore: planned %d files with content, %d blobs in %d packs\n", len(p.files), len(p.need), len(x.dataPacks))
	return nil
}

// restore makes the tree in the target with the file-system restore,
// which moves the written contents into place and sets all metadata.
func (x *tapeRestore) restore(ctx context.Context, sn *repo.Snapshot) error {
	stats, err := fsrestore.Restore(ctx, treeLoader{x.plan}, sn.Tree, x.opts.Target, fsrestore.Options{
		Includes: x.opts.Includes, Excludes: x.opts.Excludes, Prewritten: x.plan.prewritten,
	})
	x.rep.Files, x.rep.Dirs, x.rep.Bytes = stats.Files, stats.Dirs, stats.Bytes
	for _, e := range stats.Errors {
		x.rep.Errors = append(x.rep.Errors, e.Error())
	}
	x.rep.Affected = x.plan.affected()
	if errors.Is(err, fsrestore.ErrIncomplete) {
		return nil // in the report
	}
	return err
}
