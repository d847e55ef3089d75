package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"cairn/internal/crypto"
	"cairn/repo/backend"
	"cairn/tapeio"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// VerifyReport is what Verify found, per set.
type VerifyReport struct {
	Sets       []SetVerify   `json:"sets"`
	Unreadable []string      `json:"unreadable,omitempty"`
	DataBytes  int64         `json:"data_bytes"`
	Elapsed    time.Duration `json:"elapsed_ns"`
}

// SetVerify is the verification of one set.
type SetVerify struct {
	SetID   string   `json:"set_id"`
	Volumes []uint32 `json:"volumes"`
	Missing []uint32 `json:"missing,omitempty"`
	// EndOfSet is false when the set's end was not reached (its last
	// volume is missing or was not offered).
	EndOfSet   bool     `json:"end_of_set"`
	Files      int      `json:"files"`
	Packs      int      `json:"packs"`
	BadPacks   []string `json:"bad_packs,omitempty"`   // complete on tape but not matching their name
	BadEntries int      `json:"bad_entries,omitempty"` // bundle entries not matching their name
	Damaged    []Damage `json:"damaged_blocks,omitempty"`
	Incomplete []string `json:"incomplete_files,omitempty"`
}

// Clean reports whether every set was read whole and intact.
func (v *VerifyReport) Clean() bool {
	for _, s := range v.Sets {
		if len(s.Missing) > 0 || !s.EndOfSet || len(s.BadPacks) > 0 || s.BadEntries > 0 || len(s.Damaged) > 0 || len(s.Incomplete) > 0 {
			return false
		}
	}
	return len(v.Sets) > 0
}

// volumeRef locates a volume among the media.
type volumeRef struct {
	medium int
	label  volume.Label
}

// readLabels reads the label of every medium, grouped by set.
func readLabels(ctx context.Context, m export.Media) (map[volume.ID]map[uint32]volumeRef, []volume.ID, []string) {
	sets := map[volume.ID]map[uint32]volumeRef{}
	var order []volume.ID
	var bad []string
	for i := 0; i < m.Count(); i++ {
		d, err := m.Open(ctx, i)
		if err == nil {
			var v *volume.VolumeReader
			if v, err = volume.OpenVolume(ctx, d); err == nil {
				l := v.Label()
				if sets[l.SetID] == nil {
					sets[l.SetID] = map[uint32]volumeRef{}
					order = append(order, l.SetID)
				}
				sets[l.SetID][l.Seq] = volumeRef{medium: i, label: l}
			}
		}
		if err != nil && !errors.Is(err, tapeio.ErrNoMedium) { // an empty slot is no news
			bad = append(bad, fmt.Sprintf("%s: %v", m.Name(i), err))
		}
		m.Release()
	}
	return sets, order, bad
}

// Verify reads every set on the media through the volume package's set
// reader: every block's checksum and sequence, every file's continuity
// across volumes, every pack's hash against its name and every bundle
// entry's. It needs no key.
func Verify(ctx context.Context, m export.Media) (*VerifyReport, error) {
	start := time.Now()
	sets, order, bad := readLabels(ctx, m)
	rep := &VerifyReport{Unreadable: bad}
	for _, id := range order {
		sv, n, err := verifySet(ctx, m, id, sets[id])
		rep.DataBytes += n
		if err != nil {
			return rep, err
		}
		rep.Sets = append(rep.Sets, sv)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func verifySet(ctx context.Context, m export.Media, id volume.ID, vols map[uint32]volumeRef) (SetVerify, int64, error) {
	sv := SetVerify{SetID: id.String()}
	var maxSeq uint32
	for seq := range vols {
		maxSeq = max(maxSeq, seq)
	}
	open := func(ctx context.Context, seq int) (tapeio.Drive, error) {
		ref, ok := vols[uint32(seq)]
		switch {
		case ok:
			return m.Open(ctx, ref.medium)
		case uint32(seq) < maxSeq:
			return nil, volume.ErrVolumeMissing
		}
		return nil, volume.ErrNoMoreVolumes
	}
	r, err := volume.NewSetReader(volume.SetReaderOptions{OpenVolume: open, SetID: id})
	if err != nil {
		return sv, 0, err
	}
	defer r.Close()
	var total int64
	for {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var be *volume.BlockError
		var ie *volume.IncompleteError
		if err != nil && !errors.As(err, &be) && !errors.As(err, &ie) {
			return sv, total, err
		}
		if err != nil {
			continue // recorded in the report
		}
		sv.Files++
		data, err := io.ReadAll(f)
		total += int64(len(data))
		if err != nil {
			continue // incomplete: in the report
		}
		sv.checkFile(f, data)
	}
	m.Release()
	rp := r.Report()
	sv.Volumes, sv.Missing, sv.EndOfSet = rp.Volumes, rp.MissingVolumes, rp.EndOfSet != nil
	for _, d := range rp.Damaged {
		medium := ""
		if ref, ok := vols[d.VolumeSeq]; ok {
			medium = m.Name(ref.medium)
		}
		sv.Damaged = append(sv.Damaged, Damage{Medium: medium, SetID: id.String(), VolumeSeq: d.VolumeSeq, TapeFile: d.TapeFile, Block: d.Block, Error: d.Err.Error()})
	}
	for _, ie := range rp.Incomplete {
		sv.Incomplete = append(sv.Incomplete, ie.Error())
	}
	sort.Strings(sv.BadPacks)
	return sv, total, nil
}

// checkFile checks a whole file's content against its name.
func (sv *SetVerify) checkFile(f *volume.File, data []byte) {
	switch f.Kind {
	case volume.KindPack:
		sv.Packs++
		if id, ok := export.ParsePackName(f.Name); !ok || crypto.Hash(data) != id {
			sv.BadPacks = append(sv.BadPacks, f.Name)
		}
	case volume.KindKeys, volume.KindSnapshot, volume.KindIndex:
		n, err := export.ReadBundle(bytes.NewReader(data), func(backend.FileType, string, []byte) error { return nil })
		sv.BadEntries += n
		if err != nil {
			sv.BadEntries++
		}
	}
}
