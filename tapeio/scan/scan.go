package scan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/tapeio"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// Options configure Scan.
type Options struct {
	// Password opens the rebuilt repository (its key files come from
	// tape): it is needed to write index files and check snapshots.
	Password string
	// Repo are the options the rebuilt repository is opened with.
	Repo repo.Options
	// StagingDir holds the files being assembled; it needs room for the
	// largest part of the repository read before it is written out, and
	// is removed at the end. Put it on the target's file system.
	StagingDir string
	// KeepIncomplete stores snapshots whose data is not all recovered
	// (then `repair snapshots` can rewrite them); by default they are
	// only reported.
	KeepIncomplete bool
	// Log, if set, receives progress lines.
	Log func(format string, args ...any)
}

// Report says what Scan found and rebuilt.
type Report struct {
	Volumes []VolumeInfo `json:"volumes"`
	// Unreadable lists media that hold no cairn volume, with the reason.
	Unreadable      []string   `json:"unreadable,omitempty"`
	Sets            []SetInfo  `json:"sets"`
	Damaged         []Damage   `json:"damaged_blocks,omitempty"`
	Packs           int        `json:"packs"`
	PackBytes       int64      `json:"pack_bytes"`
	IncompletePacks []PackLoss `json:"incomplete_packs,omitempty"`
	// IndexKept are index files copied from tape; IndexRebuilt index
	// files written from pack headers for packs no intact index covers.
	IndexKept    int `json:"index_files_kept"`
	IndexRebuilt int `json:"index_files_rebuilt"`
	// BlobsSalvaged were re-packed out of incomplete packs.
	BlobsSalvaged       int                  `json:"blobs_salvaged"`
	BlobsLost           int                  `json:"blobs_lost"`
	Snapshots           []crypto.ID          `json:"snapshots"`
	IncompleteSnapshots []IncompleteSnapshot `json:"incomplete_snapshots,omitempty"`
	TapeBytes           int64                `json:"tape_bytes"` // blocks read × block size
	ReadTime            time.Duration        `json:"read_ns"`
	RebuildTime         time.Duration        `json:"rebuild_ns"`
}

// SetInfo sums up one export set met on the media.
type SetInfo struct {
	SetID string `json:"set_id"`
	// Volumes seen, and the set's volume count if its last volume was
	// read (0: unknown, the last volume is missing or was not offered).
	Volumes []uint32 `json:"volumes"`
	Total   uint32   `json:"total,omitempty"`
	Missing []uint32 `json:"missing,omitempty"`
}

// Damage is a block that could not be used.
type Damage struct {
	Medium    string `json:"medium"`
	SetID     string `json:"set_id"`
	VolumeSeq uint32 `json:"volume"`
	TapeFile  uint32 `json:"tape_file"`
	Block     uint64 `json:"block"`
	Error     string `json:"error"`
}

// String formats the damage for people.
func (d Damage) String() string {
	return fmt.Sprintf("volume %d (set %.8s, %s) tape file %d block %d: %s", d.VolumeSeq, d.SetID, d.Medium, d.TapeFile, d.Block, d.Error)
}

// PackLoss is a pack not recovered whole.
type PackLoss struct {
	ID string `json:"id"`
	// Holes are the byte ranges that did not arrive.
	Holes    []span   `json:"holes"`
	Salvaged int      `json:"blobs_salvaged"`
	Lost     []string `json:"blobs_lost"`
	Reason   string   `json:"reason,omitempty"`
}

// IncompleteSnapshot is a snapshot whose data is not all recovered.
type IncompleteSnapshot struct {
	ID           crypto.ID `json:"id"`
	Time         time.Time `json:"time"`
	Paths        []string  `json:"paths"`
	MissingBlobs int       `json:"missing_blobs"`
	FirstMissing string    `json:"first_missing"`
	Kept         bool      `json:"kept"`
}

// Scan reads every volume m offers and rebuilds the repository in target,
// which must be empty. Several sets (a full and its incrementals) combine;
// a pack on two sets is assembled from both. It fails only when nothing
// usable was found or the target cannot be written; losses are in the
// report.
func Scan(ctx context.Context, m export.Media, target backend.Backend, opts Options) (*Report, error) {
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if _, err := target.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); err == nil {
		return nil, fmt.Errorf("scan: %s already holds a repository", target.Location())
	}
	st, err := newStager(opts.StagingDir)
	if err != nil {
		return nil, err
	}
	defer st.remove()
	rep := &Report{}
	start := time.Now()
	if err := readAll(ctx, m, st, rep, opts.Log); err != nil {
		return rep, err
	}
	rep.ReadTime = time.Since(start)
	start = time.Now()
	err = rebuild(ctx, st, target, rep, opts)
	rep.RebuildTime = time.Since(start)
	return rep, err
}

// readAll reads every medium into the stager.
func readAll(ctx context.Context, m export.Media, st *stager, rep *Report, log func(string, ...any)) error {
	sets := map[volume.ID]*SetInfo{}
	var order []volume.ID
	for i := 0; i < m.Count(); i++ {
		name := m.Name(i)
		d, err := m.Open(ctx, i)
		if errors.Is(err, tapeio.ErrNoMedium) {
			continue // an empty slot
		}
		if err != nil {
			rep.Unreadable = append(rep.Unreadable, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		var set volume.ID
		info, err := readVolume(ctx, d,
			func(l volume.Label) { set = l.SetID },
			func(k block) error { return st.add(set, k) },
			func(be *volume.BlockError) {
				rep.Damaged = append(rep.Damaged, Damage{Medium: name, SetID: set.String(), VolumeSeq: be.VolumeSeq, TapeFile: be.TapeFile, Block: be.Block, Error: be.Err.Error()})
			})
		if errors.Is(err, volume.ErrNotLabeled) {
			rep.Unreadable = append(rep.Unreadable, fmt.Sprintf("%s: %v", name, err))
			m.Release()
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.Release()
		if err := st.closeCur(); err != nil {
			return err
		}
		if info.Label.Seq == 0 {
			rep.Unreadable = append(rep.Unreadable, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if err != nil {
			log("%s: %v\n", name, err)
		}
		info.Medium = name
		rep.Volumes = append(rep.Volumes, info)
		rep.TapeBytes += int64(info.Blocks) * int64(info.Label.BlockSize)
		s := sets[info.Label.SetID]
		if s == nil {
			s = &SetInfo{SetID: info.Label.SetID.String()}
			sets[info.Label.SetID] = s
			order = append(order, info.Label.SetID)
		}
		s.Volumes = append(s.Volumes, info.Label.Seq)
		if info.EndOfSet > 0 {
			s.Total = info.EndOfSet
		}
		log("read %s: volume %d of set %.8s, %d blocks\n", name, info.Label.Seq, info.Label.SetID, info.Blocks)
	}
	for _, id := range order {
		s := sets[id]
		sort.Slice(s.Volumes, func(i, j int) bool { return s.Volumes[i] < s.Volumes[j] })
		last := s.Total
		if last == 0 && len(s.Volumes) > 0 {
			last = s.Volumes[len(s.Volumes)-1]
		}
		have := map[uint32]bool{}
		for _, v := range s.Volumes {
			have[v] = true
		}
		for v := uint32(1); v <= last; v++ {
			if !have[v] {
				s.Missing = append(s.Missing, v)
			}
		}
		rep.Sets = append(rep.Sets, *s)
	}
	if len(rep.Volumes) == 0 {
		return errors.New("scan: no cairn volume found")
	}
	return nil
}
