package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

// List reads every medium's label and, from the volume that ends each set,
// the set's catalog. It positions to the catalog with filemark spacing
// rather than reading the volume (the catalog is the last tape file before
// the end-of-set trailer), so it takes seconds per cartridge on a real
// drive.
func List(ctx context.Context, m export.Media) (*ListReport, error) {
	rep := &ListReport{}
	for i := 0; i < m.Count(); i++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		lv, err := listOne(ctx, m, i)
		m.Release()
		if errors.Is(err, tapeio.ErrNoMedium) {
			continue // an empty slot
		}
		if err != nil {
			rep.Unreadable = append(rep.Unreadable, fmt.Sprintf("%s: %v", m.Name(i), err))
			continue
		}
		rep.Volumes = append(rep.Volumes, lv)
	}
	return rep, nil
}

func listOne(ctx context.Context, m export.Media, i int) (ListedVolume, error) {
	lv := ListedVolume{Medium: m.Name(i)}
	d, err := m.Open(ctx, i)
	if err != nil {
		return lv, err
	}
	v, err := volume.OpenVolume(ctx, d)
	if err != nil {
		return lv, err
	}
	lv.Label = v.Label()
	if c, err := readCatalog(d, lv.Label); err == nil {
		lv.Catalog = c
	}
	return lv, nil
}

// errNoCatalog: the volume does not end its set (or its end is damaged).
var errNoCatalog = errors.New("no catalog at the end of this volume")

// readCatalog reads the catalog of a volume that ends a set:
//
//	... catalog FM end-of-set FM <end of data>
func readCatalog(d tapeio.Drive, l volume.Label) (*export.SetCatalog, error) {
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
	var data []byte
	for first := true; ; first = false {
		n, err := d.ReadRecord(buf)
		if err != nil || n != len(buf) {
			return nil, errNoCatalog
		}
		k, err := decodeBlock(buf)
		if err != nil || k.volumeID != l.VolumeID || k.kind != volume.KindCatalog {
			return nil, errNoCatalog
		}
		if first && k.flags&volume.FlagFirst == 0 {
			return nil, errNoCatalog // continued from an earlier volume
		}
		if k.dataOffset != int64(len(data)) {
			return nil, errNoCatalog
		}
		data = append(data, k.data...)
		if k.flags&volume.FlagLast != 0 {
			break
		}
	}
	c := &export.SetCatalog{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
}
