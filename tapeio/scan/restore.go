package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend"
	"cairn/repo/backend/mem"
	fsrestore "cairn/sources/fs/restore"
	"cairn/tapeio"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Password opens the key files on tape.
	Password string
	// Snapshot is an id, a unique prefix or "latest" (narrowed by Filter).
	Snapshot string
	Filter   repo.Filter
	// Target is the directory restored into (created if missing).
	Target string
	// Includes and Excludes select paths as in the restore command.
	Includes, Excludes []string
	// Log, if set, receives progress lines.
	Log func(format string, args ...any)
}

// RestoreReport says what a tape restore read and restored.
type RestoreReport struct {
	Snapshot crypto.ID `json:"snapshot"`
	Time     time.Time `json:"time"`
	Paths    []string  `json:"paths"`
	// Sets are the export sets read, the snapshot's first.
	Sets []string `json:"sets"`
	// Passes is 2 when data came before the trees needed to place it
	// (Note says why), else 1.
	Passes     int          `json:"passes"`
	Note       string       `json:"note,omitempty"`
	Volumes    []VolumeInfo `json:"volumes"`
	Unreadable []string     `json:"unreadable,omitempty"`
	// Missing names volumes of the sets read that were not offered.
	Missing []string `json:"missing_volumes,omitempty"`
	Damaged []Damage `json:"damaged_blocks,omitempty"`
	// Affected are files whose content is incomplete (cut at the first
	// chunk that could not be read).
	Affected     []AffectedFile `json:"affected_files,omitempty"`
	MissingTrees int            `json:"missing_trees,omitempty"`
	Files        int64          `json:"files"`
	Dirs         int64          `json:"dirs"`
	Bytes        int64          `json:"bytes"`
	Errors       []string       `json:"errors,omitempty"`
	TapeBytes    int64          `json:"tape_bytes"`
	ReadTime     time.Duration  `json:"read_ns"`
	Elapsed      time.Duration  `json:"elapsed_ns"`
}

// AffectedFile is a restored file whose content is incomplete.
type AffectedFile struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Complete reports whether everything selected was restored.
func (r *RestoreReport) Complete() bool {
	return len(r.Affected) == 0 && len(r.Errors) == 0 && r.MissingTrees == 0
}

// tapeSet is one export set found on the media.
type tapeSet struct {
	id    volume.ID
	media map[uint32]int // volume sequence -> media index
	total uint32         // from the end-of-set trailer, 0 if not seen
	// from the start of volume 1
	config []byte
	meta   map[backend.FileType]map[string][]byte
}

// errStop ends reading a volume early.
var errStop = errors.New("stop reading")

// Restore restores one snapshot from tape volumes straight into a
// directory, without a repository. It reads config, keys, snapshots and
// index from the start of each set's first volume, then the set's volumes
// once, in order: tree packs come first in a set (docs/format.md §13.2),
// so the restore is planned (which blob goes to which file offset) before
// the data packs stream by, and each data blob is written at its offsets
// as it passes. Sets written before that order, or a snapshot whose trees
// lie on another set, take a second pass over the volumes, which the
// report notes. Files, directories, links and metadata are then made by
// the file-system restore (sources/fs/restore), which moves the written
// contents into place. A damaged block costs the blobs it overlaps: the
// files using them are cut at that chunk and listed in Affected.
func Restore(ctx context.Context, m export.Media, opts RestoreOptions) (*RestoreReport, error) {
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if opts.Target == "" {
		return nil, errors.New("tape restore: no target directory")
	}
	sel, err := fsrestore.NewSelector(opts.Includes, opts.Excludes)
	if err != nil {
		return nil, fmt.Errorf("tape restore: %w", err)
	}
	start := time.Now()
	x := &tapeRestore{m: m, opts: opts, rep: &RestoreReport{Passes: 1}, sel: sel, why: map[crypto.ID]error{}}
	if err := x.survey(ctx); err != nil {
		return x.rep, err
	}
	r, sn, err := x.openSnapshot(ctx)
	if err != nil {
		return x.rep, err
	}
	defer r.Close()
	x.key, x.root = r.Key(), sn.Tree
	x.rep.Snapshot, x.rep.Time, x.rep.Paths = sn.ID, sn.Time, sn.Paths
	if err := x.loadIndex(r); err != nil {
		return x.rep, err
	}
	readStart := time.Now()
	err = x.readPasses(ctx)
	x.rep.ReadTime = time.Since(readStart)
	if x.plan != nil {
		defer os.RemoveAll(x.plan.staging)
		if cerr := x.plan.closeStaged(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return x.rep, err
	}
	err = x.restore(ctx, sn)
	x.rep.Elapsed = time.Since(start)
	return x.rep, err
}

type tapeRestore struct {
	m    export.Media
	opts RestoreOptions
	rep  *RestoreReport
	sel  *fsrestore.Selector
	sets []*tapeSet
	key  *crypto.Key
	root crypto.ID
	// treePacks are the index entries of packs holding trees; indexFiles
	// the sealed index files, decoded again for the data packs once the
	// plan says which blobs are needed.
	treePacks  map[crypto.ID]*index.PackInfo
	indexFiles [][]byte
	fileAEAD   *crypto.AEAD
	trees      map[crypto.ID][]byte
	plan       *restorePlan
	dataPacks  map[crypto.ID]*index.PackInfo // only the blobs still needed
	why        map[crypto.ID]error
	skipped    bool // a data pack went by before the plan could be made
	newTrees   bool // trees arrived since the plan was last tried
}

// survey reads every medium's label, and config, keys, snapshots and
// index from the start of each set's first volume.
func (x *tapeRestore) survey(ctx context.Context) error {
	byID := map[volume.ID]*tapeSet{}
	for i := 0; i < x.m.Count(); i++ {
		var l volume.Label
		bundles := map[uint32]*bytes.Buffer{}
		kinds := map[uint32]volume.Kind{}
		d, err := x.m.Open(ctx, i)
		if err == nil {
			_, err = readVolume(ctx, d, func(lb volume.Label) { l = lb }, func(k block) error {
				if l.Seq != 1 || k.kind == volume.KindPack || k.kind == volume.KindCatalog {
					return errStop
				}
				b := bundles[k.setFile]
				if b == nil {
					b = &bytes.Buffer{}
					bundles[k.setFile], kinds[k.setFile] = b, k.kind
				}
				if k.dataOffset == int64(b.Len()) {
					b.Write(k.data)
				}
				return nil
			}, func(*volume.BlockError) {})
		}
		x.m.Release()
		if errors.Is(err, errStop) {
			err = nil
		}
		if errors.Is(err, tapeio.ErrNoMedium) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break // the operator ended the cartridge prompts (Ctrl-D)
		}
		if err != nil || l.Seq == 0 {
			x.rep.Unreadable = append(x.rep.Unreadable, fmt.Sprintf("%s: %v", x.m.Name(i), err))
			continue
		}
		s := byID[l.SetID]
		if s == nil {
			s = &tapeSet{id: l.SetID, media: map[uint32]int{}, meta: map[backend.FileType]map[string][]byte{}}
			byID[l.SetID] = s
			x.sets = append(x.sets, s)
		}
		s.media[l.Seq] = i
		for f, b := range bundles {
			s.addMeta(kinds[f], b.Bytes())
		}
	}
	if len(x.sets) == 0 {
		return errors.New("tape restore: no cairn volume found")
	}
	return nil
}

func (s *tapeSet) addMeta(kind volume.Kind, data []byte) {
	if kind == volume.KindConfig {
		if s.config == nil {
			s.config = data
		}
		return
	}
	// A damaged bundle still yields its entries before the damage; each
	// entry is checked against its name.
	_, _ = export.ReadBundle(bytes.NewReader(data), func(t backend.FileType, name string, d []byte) error {
		if s.meta[t] == nil {
			s.meta[t] = map[string][]byte{}
		}
		s.meta[t][name] = d
		return nil
	})
}

// openSnapshot opens the key files from tape with the password, finds the
// snapshot among the sets' snapshot files and puts its set first.
func (x *tapeRestore) openSnapshot(ctx context.Context) (*repo.Repository, *repo.Snapshot, error) {
	be := mem.New()
	haveConfig := false
	for _, s := range x.sets {
		if s.config != nil && !haveConfig {
			if err := be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, s.config); err != nil {
				return nil, nil, err
			}
			haveConfig = true
		}
		for _, t := range []backend.FileType{backend.KeyFile, backend.SnapshotFile} {
			for name, data := range s.meta[t] {
				if err := be.Save(ctx, backend.Handle{Type: t, Name: name}, data); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if !haveConfig {
		return nil, nil, errors.New("tape restore: no intact config on the first volume of any set (load volume 1, or use tape scan)")
	}
	r, err := repo.Open(ctx, be, x.opts.Password, repo.Options{NoCache: true})
	if err != nil {
		return nil, nil, fmt.Errorf("tape restore: %w", err)
	}
	sn, err := r.FindSnapshot(ctx, x.opts.Snapshot, x.opts.Filter)
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("tape restore: %w", err)
	}
	sort.SliceStable(x.sets, func(i, j int) bool {
		return x.sets[i].meta[backend.SnapshotFile][sn.ID.String()] != nil && x.sets[j].meta[backend.SnapshotFile][sn.ID.String()] == nil
	})
	x.fileAEAD = r.FileAEAD()
	return r, sn, nil
}

// loadIndex keeps the index entries of tree packs and the sealed index
// files for later.
func (x *tapeRestore) loadIndex(r *repo.Repository) error {
	x.treePacks = map[crypto.ID]*index.PackInfo{}
	x.trees = map[crypto.ID][]byte{}
	seen := map[string]bool{}
	for _, s := range x.sets {
		for name, data := range s.meta[backend.IndexFile] {
			if seen[name] {
				continue
			}
			seen[name] = true
			f, err := index.Decode(r.FileAEAD(), data)
			if err != nil {
				continue // checked against its name: a wrong key, not damage
			}
			x.indexFiles = append(x.indexFiles, data)
			for i := range f.Packs {
				pi := &f.Packs[i]
				if len(pi.Blobs) > 0 && pi.Blobs[0].Type == pack.TreeBlob {
					x.treePacks[pi.ID] = pi
				}
			}
		}
	}
	if len(x.indexFiles) == 0 {
		return errors.New("tape restore: no intact index on the first volume of any set (use tape scan)")
	}
	return nil
}
