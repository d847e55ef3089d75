package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/tapeio"
	"cairn/tapeio/volume"
)

// ExecuteOptions configure writing a plan.
type ExecuteOptions struct {
	// NextVolume hands out volumes (see Chooser); required.
	NextVolume func(ctx context.Context, seq int) (tapeio.Drive, error)
	// SetID names the set; zero means a random one.
	SetID volume.ID
	// BlockSize of the set; 0 is volume.DefaultBlockSize.
	BlockSize int
	// Host is recorded in labels and the catalog.
	Host string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, if set, is called after every tape file.
	Progress func(Progress)
}

// Progress reports an export under way.
type Progress struct {
	Files      int
	PacksDone  int
	PacksTotal int
	BytesDone  int64 // pack bytes written
	BytesTotal int64
}

// Result is what Execute wrote.
type Result struct {
	Summary volume.Summary
	Catalog *SetCatalog
	Files   []volume.FileInfo
	// PackBytes is the size of the packs written (their bytes on disk).
	PackBytes int64
	Elapsed   time.Duration
}

// Execute writes the plan as one export set.
func Execute(ctx context.Context, r *repo.Repository, p *Plan, opts ExecuteOptions) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SetID == (volume.ID{}) {
		opts.SetID = volume.NewID()
	}
	start := time.Now()
	w, err := volume.NewWriter(ctx, volume.WriterOptions{
		NextVolume: opts.NextVolume, SetID: opts.SetID, BlockSize: opts.BlockSize, Host: opts.Host, Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	x := &executor{r: r, p: p, w: w, opts: opts, res: &Result{}}
	err = x.run(ctx)
	sum, cerr := w.Close(ctx)
	x.res.Summary = sum
	x.res.Elapsed = time.Since(start)
	if err == nil {
		err = cerr
	}
	if err != nil {
		return x.res, err
	}
	return x.res, nil
}

type executor struct {
	r    *repo.Repository
	p    *Plan
	w    *volume.Writer
	opts ExecuteOptions
	res  *Result
	prog Progress
}

func (x *executor) run(ctx context.Context) error {
	x.prog.PacksTotal, x.prog.BytesTotal = len(x.p.Packs), x.p.PackBytes
	if err := x.writeMeta(ctx, true); err != nil {
		return err
	}
	if err := x.writePacks(ctx); err != nil {
		return err
	}
	// A second copy of what opens the repository, so that the last volume
	// as well as the first carries it.
	if err := x.writeMeta(ctx, false); err != nil {
		return err
	}
	return x.writeCatalog(ctx)
}

// write writes one tape file and records it.
func (x *executor) write(ctx context.Context, kind volume.Kind, name string, rd io.Reader) error {
	info, err := x.w.WriteFile(ctx, kind, name, rd)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	x.res.Files = append(x.res.Files, info)
	x.prog.Files++
	if x.opts.Progress != nil {
		x.opts.Progress(x.prog)
	}
	return nil
}

// writeMeta writes config, keys and snapshots, and with index the index.
func (x *executor) writeMeta(ctx context.Context, withIndex bool) error {
	be := x.r.Backend()
	cfg, err := backend.LoadAll(ctx, be, backend.Handle{Type: backend.ConfigFile})
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if err := x.write(ctx, volume.KindConfig, NameConfig, bytes.NewReader(cfg)); err != nil {
		return err
	}
	snaps := make([]string, len(x.p.Snapshots))
	for i, sn := range x.p.Snapshots {
		snaps[i] = sn.ID.String()
	}
	bundles := []struct {
		t     backend.FileType
		names []string
	}{{backend.KeyFile, x.p.Keys}, {backend.SnapshotFile, snaps}}
	if withIndex {
		bundles = append(bundles, struct {
			t     backend.FileType
			names []string
		}{backend.IndexFile, x.p.Index})
	}
	for _, b := range bundles {
		k := bundleKinds[b.t]
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeBundle(ctx, be, b.t, b.names, pw)) }()
		err := x.write(ctx, k.kind, k.name, pr)
		pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer goroutine if WriteFile stopped early
		if err != nil {
			return err
		}
	}
	return nil
}

// loadedPack is a pack read ahead of the drive.
type loadedPack struct {
	id   crypto.ID
	data []byte
	err  error
}

// writePacks copies the planned packs verbatim. One pack is loaded and
// verified ahead while the previous one is written, so the drive keeps
// streaming; a pack whose bytes do not hash to its name is not written
// (the repository is damaged: check and repair it first).
func (x *executor) writePacks(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan loadedPack, 2)
	go func() {
		defer close(ch)
		for _, pk := range x.p.Packs {
			data, err := backend.LoadAll(ctx, x.r.Backend(), backend.Handle{Type: backend.PackFile, Name: pk.ID.String()})
			if err == nil && crypto.Hash(data) != pk.ID {
				err = fmt.Errorf("pack %s is damaged in the repository (content does not match its name)", pk.ID.Short())
			}
			select {
			case ch <- loadedPack{id: pk.ID, data: data, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for lp := range ch {
		if lp.err != nil {
			return fmt.Errorf("load pack %s: %w", lp.id.Short(), lp.err)
		}
		x.prog.PacksDone++
		x.prog.BytesDone += int64(len(lp.data))
		if err := x.write(ctx, volume.KindPack, PackName(lp.id), bytes.NewReader(lp.data)); err != nil {
			return err
		}
		x.res.PackBytes += int64(len(lp.data))
	}
	return ctx.Err()
}

// writeCatalog writes the set's catalog as its last tape file.
func (x *executor) writeCatalog(ctx context.Context) error {
	c := x.catalog()
	x.res.Catalog = c
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	return x.write(ctx, volume.KindCatalog, NameCatalog, bytes.NewReader(b))
}

func (x *executor) catalog() *SetCatalog {
	setID := x.w.SetID().String()
	c := &SetCatalog{
		Version: CatalogVersion, SetID: setID, RepoID: x.p.RepoID, Created: x.opts.Now().UTC(),
		Host: x.opts.Host, BlockSize: x.opts.BlockSize, Incremental: x.p.Incremental, BaseSets: x.p.BaseSets,
		PacksElsewhere: x.p.Elsewhere,
	}
	if c.BlockSize == 0 {
		c.BlockSize = volume.DefaultBlockSize
	}
	where := map[crypto.ID]string{}
	for _, e := range x.p.Elsewhere {
		where[e.ID] = e.Set
	}
	vols := map[string][]uint32{}
	for _, f := range x.res.Files {
		for _, e := range f.Extents {
			vols[f.Name] = append(vols[f.Name], e.VolumeSeq)
		}
	}
	for _, sn := range x.p.Snapshots {
		packs := x.p.SnapshotPacks[sn.ID]
		sets := map[string]bool{}
		var list []string
		onVol := map[uint32]bool{}
		for _, id := range packs {
			for _, v := range vols[PackName(id)] {
				onVol[v] = true
			}
			s, ok := where[id]
			if !ok {
				s = setID
			}
			if !sets[s] {
				sets[s] = true
				list = append(list, s)
			}
		}
		cs := CatalogSnapshot{ID: sn.ID, Time: sn.Time, Packs: len(packs), Sets: list}
		for v := range onVol {
			cs.Volumes = append(cs.Volumes, v)
		}
		slices.Sort(cs.Volumes)
		c.Snapshots = append(c.Snapshots, cs)
	}
	for _, f := range x.res.Files {
		c.Files = append(c.Files, CatalogFile{SetFile: f.SetFile, Kind: f.Kind.String(), Name: f.Name, Size: f.Size, Extents: f.Extents})
	}
	return c
}

// Record adds a written set to the local catalog. name gives the medium
// each volume was written on (Chooser.Name).
func (c *LocalCatalog) Record(p *Plan, res *Result, name func(seq int) string) {
	s := LocalSet{
		SetID: res.Summary.SetID.String(), DataBytes: res.Summary.DataBytes, TapeBytes: res.Summary.TapeBytes,
	}
	if res.Catalog != nil {
		s.Created = res.Catalog.Created
	}
	for _, v := range res.Summary.Volumes {
		s.Volumes = append(s.Volumes, LocalVolume{Seq: v.Seq, ID: v.ID.String(), Medium: name(int(v.Seq))})
	}
	for _, sn := range p.Snapshots {
		s.Snapshots = append(s.Snapshots, sn.ID)
	}
	for _, pk := range p.Packs {
		s.Packs = append(s.Packs, pk.ID)
	}
	c.Sets = append(c.Sets, s)
}
