package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// keepOpen lets the repository opened on the target close without closing
// the caller's backend.
type keepOpen struct{ backend.Backend }

func (keepOpen) Close() error { return nil }

// rebuilder writes what the stager holds into the target repository, in
// the repository's write order: config and keys, packs, index, snapshots.
type rebuilder struct {
	st     *stager
	target backend.Backend
	rep    *Report
	opts   Options
	r      *repo.Repository
	// packs recovered whole, with what their trailers list
	packs   map[crypto.ID]index.PackInfo
	damaged []*packCopies
	meta    map[backend.FileType]map[string][]byte
}

// packCopies are the staged copies of one pack (one per set holding it).
type packCopies struct {
	id     crypto.ID
	copies []*staged
}

func rebuild(ctx context.Context, st *stager, target backend.Backend, rep *Report, opts Options) error {
	b := &rebuilder{st: st, target: target, rep: rep, opts: opts, packs: map[crypto.ID]index.PackInfo{}}
	if err := b.openRepo(ctx); err != nil {
		return err
	}
	defer b.r.Close()
	if err := b.savePacks(ctx); err != nil {
		return err
	}
	if err := b.saveIndex(ctx); err != nil {
		return err
	}
	if err := b.salvage(ctx); err != nil {
		return err
	}
	return b.saveSnapshots(ctx)
}

// openRepo writes config and key files from tape and opens the repository.
func (b *rebuilder) openRepo(ctx context.Context) error {
	var cfg []byte
	b.meta = map[backend.FileType]map[string][]byte{}
	for _, f := range b.st.order {
		switch f.kind {
		case volume.KindConfig:
			if cfg == nil && f.complete() {
				data, err := f.read()
				if err != nil {
					return err
				}
				cfg = data
			}
		case volume.KindKeys, volume.KindSnapshot, volume.KindIndex:
			// A bundle with holes still yields its entries before the first
			// hole; every entry is checked against its name.
			data, err := f.read()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			_, _ = export.ReadBundle(bytes.NewReader(data), func(t backend.FileType, name string, d []byte) error {
				if b.meta[t] == nil {
					b.meta[t] = map[string][]byte{}
				}
				b.meta[t][name] = d
				return nil
			})
		}
	}
	if cfg == nil {
		return errors.New("scan: no intact config file on the volumes read (the first and last volume of a set carry one)")
	}
	if len(b.meta[backend.KeyFile]) == 0 {
		return errors.New("scan: no intact key file on the volumes read")
	}
	if err := b.target.Save(ctx, backend.Handle{Type: backend.ConfigFile}, cfg); err != nil {
		return err
	}
	for name, data := range b.meta[backend.KeyFile] {
		if err := b.target.Save(ctx, backend.Handle{Type: backend.KeyFile, Name: name}, data); err != nil {
			return err
		}
	}
	ropts := b.opts.Repo
	r, err := repo.Open(ctx, keepOpen{b.target}, b.opts.Password, ropts)
	if err != nil {
		return fmt.Errorf("scan: open the rebuilt repository: %w", err)
	}
	b.r = r
	return nil
}

// savePacks stores every pack that arrived whole (from any of its copies,
// or pieced together from several) and keeps the others for salvage.
func (b *rebuilder) savePacks(ctx context.Context) error {
	byID := map[crypto.ID]*packCopies{}
	var order []*packCopies
	for _, f := range b.st.order {
		if f.kind != volume.KindPack {
			continue
		}
		id, ok := export.ParsePackName(f.name)
		if !f.named || !ok {
			b.rep.IncompletePacks = append(b.rep.IncompletePacks, PackLoss{
				ID: fmt.Sprintf("set %.8s file %d", f.key.set, f.key.setFile), Holes: f.cov.holes(max(f.size, 0)),
				Reason: "its first block was lost: name and salt unknown"})
			continue
		}
		pc := byID[id]
		if pc == nil {
			pc = &packCopies{id: id}
			byID[id] = pc
			order = append(order, pc)
		}
		pc.copies = append(pc.copies, f)
	}
	for _, pc := range order {
		data, ok, err := pc.whole()
		if err != nil {
			return err
		}
		if !ok {
			b.damaged = append(b.damaged, pc)
			continue
		}
		salt, blobs, err := pack.List(b.r.Key(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("pack %s: intact on tape but unreadable: %w", pc.id.Short(), err)
		}
		if err := b.target.Save(ctx, backend.Handle{Type: backend.PackFile, Name: pc.id.String()}, data); err != nil {
			return err
		}
		b.packs[pc.id] = index.PackInfo{ID: pc.id, Salt: salt, Size: int64(len(data)), Blobs: blobs}
		b.rep.Packs++
		b.rep.PackBytes += int64(len(data))
		for _, f := range pc.copies {
			os.Remove(f.path) // free the staging space early
		}
	}
	return nil
}

// whole returns the pack's bytes if some copy, or the copies together,
// hold all of it and it hashes to its name.
func (pc *packCopies) whole() ([]byte, bool, error) {
	for _, f := range pc.copies {
		if !f.complete() {
			continue
		}
		data, err := f.read()
		if err != nil {
			return nil, false, err
		}
		if crypto.Hash(data) == pc.id {
			return data, true, nil
		}
	}
	data, cov, size, err := pc.merge()
	if err != nil || size < 0 || !cov.covers(0, size) || crypto.Hash(data) != pc.id {
		return nil, false, err
	}
	return data, true, nil
}

// merge lays every copy's intact ranges over each other.
func (pc *packCopies) merge() (data []byte, cov spans, size int64, err error) {
	size = -1
	for _, f := range pc.copies {
		if f.size >= 0 {
			size = f.size
		}
	}
	for _, f := range pc.copies {
		d, err := f.read()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, size, err
		}
		for _, s := range f.cov {
			if int64(len(data)) < s.End {
				data = append(data, make([]byte, s.End-int64(len(data)))...)
			}
			copy(data[s.Start:s.End], d[s.Start:min(s.End, int64(len(d)))])
			cov.add(s.Start, s.End)
		}
	}
	if size >= 0 && int64(len(data)) < size {
		data = append(data, make([]byte, size-int64(len(data)))...)
	}
	return data, cov, size, nil
}

// saveIndex keeps the index files from tape whose packs all arrived whole,
// and writes index files from pack trailers for the packs they miss.
func (b *rebuilder) saveIndex(ctx context.Context) error {
	covered := map[crypto.ID]bool{}
	names := make([]string, 0, len(b.meta[backend.IndexFile]))
	for name := range b.meta[backend.IndexFile] {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := b.meta[backend.IndexFile][name]
		f, err := index.Decode(b.r.FileAEAD(), data)
		if err != nil || !b.allRecovered(f) {
			continue
		}
		if err := b.target.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: name}, data); err != nil {
			return err
		}
		b.rep.IndexKept++
		for _, p := range f.Packs {
			covered[p.ID] = true
		}
	}
	var rest []index.PackInfo
	for id, pi := range b.packs {
		if !covered[id] {
			rest = append(rest, pi)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return bytes.Compare(rest[i].ID[:], rest[j].ID[:]) < 0 })
	const perFile = 2000
	for i := 0; i < len(rest); i += perFile {
		if err := b.r.SaveIndex(ctx, &index.File{Packs: rest[i:min(i+perFile, len(rest))]}); err != nil {
			return err
		}
		b.rep.IndexRebuilt++
	}
	return b.r.SyncIndex(ctx)
}

// allRecovered reports whether every pack an index file names arrived
// whole and matches the index (an index naming a lost pack would make
// check fail; its surviving packs are indexed from their trailers).
func (b *rebuilder) allRecovered(f *index.File) bool {
	for _, p := range f.Packs {
		got, ok := b.packs[p.ID]
		if !ok || got.Size != p.Size || len(got.Blobs) != len(p.Blobs) {
			return false
		}
	}
	return true
}
