package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"cairn/tapeio"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// ListedVolume is one medium as List saw it.
type ListedVolume struct {
	Medium string       `json:"medium"`
	Label  volume.Label `json:"label"`
	// Catalog is the set's catalog when this volume ends the set.
	Catalog *export.SetCatalog `json:"catalog,omitempty"`
}

// ListReport lists the volumes on the media.
type ListReport struct {
	Volumes    []ListedVolume `json:"volumes"`
	Unreadable []string       `json:"unreadable,omitempty"`
}

// List reads every medium's label and each set's catalog, from the end
// of the volume that ends the set, and of the volume before when the
// catalog began there. It positions to the last file of a volume with
// filemark spacing rather than reading the volume, so it takes seconds per
// cartridge on a real drive.
func List(ctx context.Context, m export.Media) (*ListReport, error) {
	rep := &ListReport{}
	frags := map[volume.ID][]catalogFragment{}
	for i := 0; i < m.Count(); i++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		lv, frag, err := listOne(ctx, m, i)
		m.Release()
		if errors.Is(err, tapeio.ErrNoMedium) {
			continue // an empty slot
		}
		if err != nil {
			rep.Unreadable = append(rep.Unreadable, fmt.Sprintf("%s: %v", m.Name(i), err))
			continue
		}
		if frag != nil {
			frag.volume = len(rep.Volumes)
			frags[lv.Label.SetID] = append(frags[lv.Label.SetID], *frag)
		}
		rep.Volumes = append(rep.Volumes, lv)
	}
	for _, fs := range frags {
		if c, at, ok := joinCatalog(fs); ok {
			rep.Volumes[at].Catalog = c
		}
	}
	return rep, nil
}

func listOne(ctx context.Context, m export.Media, i int) (ListedVolume, *catalogFragment, error) {
	lv := ListedVolume{Medium: m.Name(i)}
	d, err := m.Open(ctx, i)
	if err != nil {
		return lv, nil, err
	}
	v, err := volume.OpenVolume(ctx, d)
	if err != nil {
		return lv, nil, err
	}
	lv.Label = v.Label()
	frag, err := lastCatalogFragment(d, lv.Label)
	if err != nil {
		return lv, nil, nil // no catalog (part) at the end of this volume
	}
	return lv, frag, nil
}

// catalogFragment is the part of a catalog at the end of one volume.
type catalogFragment struct {
	volume int   // index in ListReport.Volumes
	offset int64 // data offset of its first byte
	data   []byte
	last   bool // the catalog ends here
}

// errNoCatalog: the volume does not end with a catalog fragment (or its
// end is damaged).
var errNoCatalog = errors.New("no catalog at the end of this volume")

// lastCatalogFragment reads the last data file of a volume if it is (a
// fragment of) the catalog. A set's catalog is its last file: on the
// volume that ends the set it is followed by the end-of-set trailer, and
// when it began on the volume before, that one ends with its first part
// and the end-of-volume trailer:
//
//	... catalog FM end-of-set FM <end of data>
//	... catalog (first part) FM end-of-volume FM <end of data>
func lastCatalogFragment(d tapeio.Drive, l volume.Label) (*catalogFragment, error) {
	if err := d.SeekEndOfData(); err != nil {
		return nil, err
	}
	if err := d.SpaceFiles(-3); err != nil {
		return nil, errNoCatalog
	}
	if err := d.SpaceFiles(1); err != nil {
		return nil, errNoCatalog
	}
	buf := make([]byte, l.BlockSize)
	f := &catalogFragment{}
	for first := true; ; first = false {
		n, err := d.ReadRecord(buf)
		if errors.Is(err, tapeio.ErrFilemark) && !first {
			return f, nil // the volume ends within the catalog
		}
		if err != nil || n != len(buf) {
			return nil, errNoCatalog
		}
		k, err := decodeBlock(buf)
		if err != nil || k.volumeID != l.VolumeID || k.kind != volume.KindCatalog {
			return nil, errNoCatalog
		}
		if first {
			if k.flags&(volume.FlagFirst|volume.FlagContinued) == 0 {
				return nil, errNoCatalog
			}
			f.offset = k.dataOffset
		}
		if k.dataOffset != f.offset+int64(len(f.data)) || len(f.data)+len(k.data) > maxCatalogSize {
			return nil, errNoCatalog
		}
		f.data = append(f.data, k.data...)
		if k.flags&volume.FlagLast != 0 {
			f.last = true
			return f, nil
		}
	}
}

// maxCatalogSize bounds what List assembles of one catalog.
const maxCatalogSize = 1 << 30

// joinCatalog puts a set's catalog together from the fragments found at
// the ends of its volumes and returns it with the volume holding its end.
func joinCatalog(fs []catalogFragment) (*export.SetCatalog, int, bool) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].offset < fs[j].offset })
	var data []byte
	for _, f := range fs {
		if f.offset != int64(len(data)) {
			continue // a piece of another copy, or a gap
		}
		data = append(data, f.data...)
		if f.last {
			c := &export.SetCatalog{}
			if err := json.Unmarshal(data, c); err != nil {
				return nil, 0, false
			}
			return c, f.volume, true
		}
	}
	return nil, 0, false
}
