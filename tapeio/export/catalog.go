package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"cairn/internal/crypto"
	"cairn/tapeio/volume"
)

// CatalogVersion is the version of the catalog JSON.
const CatalogVersion = 1

// SetCatalog is the catalog at the end of an export set (tape file
// "catalog", kind catalog, plain JSON). It lets `tape list` and a future
// `tape restore` find things without reading the set, but nothing depends
// on it: scan rebuilds a repository without any catalog. It holds no
// secrets: ids are hashes, snapshot paths and hosts stay sealed.
type SetCatalog struct {
	Version   int       `json:"version"`
	SetID     string    `json:"set_id"`
	RepoID    string    `json:"repository_id"`
	Created   time.Time `json:"created"`
	Host      string    `json:"host"`
	BlockSize int       `json:"block_size"`
	// Incremental sets hold only packs that BaseSets do not.
	Incremental bool              `json:"incremental,omitempty"`
	BaseSets    []string          `json:"base_sets,omitempty"`
	Snapshots   []CatalogSnapshot `json:"snapshots"`
	// Files are the tape files written before the catalog, with where
	// they lie (volume, tape file, blocks).
	Files []CatalogFile `json:"files"`
	// PacksElsewhere are packs the snapshots need that earlier sets hold.
	PacksElsewhere []PackRef `json:"packs_elsewhere,omitempty"`
}

// CatalogSnapshot is one snapshot of a set.
type CatalogSnapshot struct {
	ID    crypto.ID `json:"id"`
	Time  time.Time `json:"time"`
	Packs int       `json:"packs"`
	// Sets are the export sets holding its packs (this one included).
	Sets []string `json:"sets"`
	// Volumes of this set holding its packs: what a restore needs loaded
	// (besides the first or last volume, for config and keys).
	Volumes []uint32 `json:"volumes"`
}

// CatalogFile is one logical file of the set.
type CatalogFile struct {
	SetFile uint32          `json:"set_file"`
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
	Size    int64           `json:"size"`
	Extents []volume.Extent `json:"extents"`
}

// PackRef names a pack and the set holding it.
type PackRef struct {
	ID  crypto.ID `json:"id"`
	Set string    `json:"set"`
}

// LocalCatalog is the export history kept in the repository's cache
// directory (file LocalCatalogFile): which sets were written, on which
// volumes, and which packs each holds. Incremental exports read it; losing
// it only means the next incremental export writes everything again.
type LocalCatalog struct {
	Version int        `json:"version"`
	Sets    []LocalSet `json:"sets"`
}

// LocalSet is one export set in the local catalog.
type LocalSet struct {
	SetID     string        `json:"set_id"`
	Created   time.Time     `json:"created"`
	Volumes   []LocalVolume `json:"volumes"`
	Snapshots []crypto.ID   `json:"snapshots"`
	Packs     []crypto.ID   `json:"packs"`
	DataBytes int64         `json:"data_bytes"`
	TapeBytes int64         `json:"tape_bytes"`
}

// LocalVolume is one volume of a set.
type LocalVolume struct {
	Seq    uint32 `json:"seq"`
	ID     string `json:"id"`
	Medium string `json:"medium"` // slot barcode or drive URL it was written in
}

// LocalCatalogFile is the local catalog's file name in the cache dir.
const LocalCatalogFile = "tape-catalog.json"

// LoadLocalCatalog reads the local catalog in dir; a missing one is empty.
func LoadLocalCatalog(dir string) (*LocalCatalog, error) {
	c := &LocalCatalog{Version: CatalogVersion}
	if dir == "" {
		return c, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, LocalCatalogFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read local tape catalog: %w", err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("local tape catalog %s: %w", filepath.Join(dir, LocalCatalogFile), err)
	}
	return c, nil
}

// Save writes the catalog to dir atomically (temp file, fsync, rename).
func (c *LocalCatalog) Save(dir string) error {
	if dir == "" {
		return errors.New("no cache directory for the local tape catalog")
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tape-catalog-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, LocalCatalogFile))
}

// PackSets maps every pack of the history to the first set holding it.
func (c *LocalCatalog) PackSets() map[crypto.ID]string {
	m := map[crypto.ID]string{}
	for _, s := range c.Sets {
		for _, p := range s.Packs {
			if _, ok := m[p]; !ok {
				m[p] = s.SetID
			}
		}
	}
	return m
}

// HasSet reports whether the set id is in the history: its volumes must
// not be overwritten while incremental sets may depend on them.
func (c *LocalCatalog) HasSet(id string) bool {
	for _, s := range c.Sets {
		if s.SetID == id {
			return true
		}
	}
	return false
}
