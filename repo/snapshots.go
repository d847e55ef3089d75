package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"cairn/internal/crypto"
	"cairn/repo/backend"
)

// Source kinds recorded in snapshots.
const (
	KindFS    = "fs"
	KindStdin = "stdin"
	KindDB    = "db"
	KindVM    = "vm"
	KindBlock = "block"
)

// Summary is what a backup did; `backup --json` prints it for every source.
type Summary struct {
	FilesNew        int64   `json:"files_new"`
	FilesChanged    int64   `json:"files_changed"`
	FilesUnmodified int64   `json:"files_unmodified"`
	DirsNew         int64   `json:"dirs_new"`
	DirsChanged     int64   `json:"dirs_changed"`
	DirsUnmodified  int64   `json:"dirs_unmodified"`
	TotalFiles      int64   `json:"total_files"`
	TotalBytes      int64   `json:"total_bytes"`
	BytesRead       int64   `json:"bytes_read"`
	BytesAdded      int64   `json:"bytes_added"`
	BytesAddedRaw   int64   `json:"bytes_added_raw"`
	BlobsNew        int64   `json:"blobs_new"`
	Errors          int64   `json:"errors"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Snapshot is the sealed JSON record of one backup.
type Snapshot struct {
	Time     time.Time  `json:"time"`
	Host     string     `json:"host"`
	Username string     `json:"username,omitempty"`
	UID      uint32     `json:"uid"`
	GID      uint32     `json:"gid"`
	Tags     []string   `json:"tags,omitempty"`
	Paths    []string   `json:"paths"`
	Kind     string     `json:"kind"`
	Source   any        `json:"source,omitempty"`
	Tree     crypto.ID  `json:"tree"`
	Parent   *crypto.ID `json:"parent,omitempty"`
	Partial  bool       `json:"partial,omitempty"`
	Repaired bool       `json:"repaired,omitempty"`
	Original *crypto.ID `json:"original,omitempty"`
	Summary  *Summary   `json:"summary,omitempty"`

	// ID is the snapshot file's name; not stored in the file.
	ID crypto.ID `json:"-"`
}

// NewSnapshot fills time, host and user for a snapshot of paths.
func NewSnapshot(now time.Time, kind string, paths []string) *Snapshot {
	sn := &Snapshot{Time: now, Kind: kind, Paths: append([]string(nil), paths...)}
	sn.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		sn.Username = u.Username
	}
	sn.UID, sn.GID = uint32(os.Getuid()), uint32(os.Getgid())
	sort.Strings(sn.Paths)
	return sn
}

const snapshotAD = "cairn snapshot v1"

// SaveSnapshot stores sn and sets its ID. Call Flush first: a snapshot
// must only name blobs that are in durable packs and indexes.
func (r *Repository) SaveSnapshot(ctx context.Context, sn *Snapshot) (crypto.ID, error) {
	plain, err := json.Marshal(sn)
	if err != nil {
		return crypto.ID{}, fmt.Errorf("encode snapshot: %w", err)
	}
	sealed := r.fileAEAD.Seal(nil, plain, []byte(snapshotAD))
	id := crypto.Hash(sealed)
	if err := r.be.Save(ctx, backend.Handle{Type: backend.SnapshotFile, Name: id.String()}, sealed); err != nil {
		return id, fmt.Errorf("save snapshot: %w", err)
	}
	sn.ID = id
	return id, nil
}

// LoadSnapshot loads one snapshot by full id.
func (r *Repository) LoadSnapshot(ctx context.Context, id crypto.ID) (*Snapshot, error) {
	sealed, err := backend.LoadAll(ctx, r.be, backend.Handle{Type: backend.SnapshotFile, Name: id.String()})
	if err != nil {
		return nil, fmt.Errorf("load snapshot %s: %w", id.Short(), err)
	}
	if crypto.Hash(sealed) != id {
		return nil, fmt.Errorf("snapshot %s: content does not match its name (damaged)", id.Short())
	}
	sn, err := DecodeSnapshot(r.fileAEAD, sealed)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id.Short(), err)
	}
	sn.ID = id
	return sn, nil
}

// DecodeSnapshot opens and parses a sealed snapshot file, rejecting
// snapshots without a root tree.
func DecodeSnapshot(aead *crypto.AEAD, sealed []byte) (*Snapshot, error) {
	plain, err := aead.Open(nil, sealed, []byte(snapshotAD))
	if err != nil {
		return nil, err
	}
	var sn Snapshot
	if err := json.Unmarshal(plain, &sn); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if sn.Tree.IsNull() {
		return nil, fmt.Errorf("decode snapshot: no root tree")
	}
	return &sn, nil
}

// RemoveSnapshot deletes a snapshot file.
func (r *Repository) RemoveSnapshot(ctx context.Context, id crypto.ID) error {
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.SnapshotFile, Name: id.String()}); err != nil {
		return fmt.Errorf("remove snapshot %s: %w", id.Short(), err)
	}
	return nil
}

// SnapshotIDs lists the ids of all snapshot files.
func (r *Repository) SnapshotIDs(ctx context.Context) ([]crypto.ID, error) {
	var ids []crypto.ID
	err := r.be.List(ctx, backend.SnapshotFile, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return ids, nil
}

// Snapshots loads all snapshots, oldest first.
func (r *Repository) Snapshots(ctx context.Context) ([]*Snapshot, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, 0, len(ids))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Workers)
	for _, id := range ids {
		g.Go(func() error {
			sn, err := r.LoadSnapshot(gctx, id)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, sn)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	SortSnapshots(out)
	return out, nil
}

// SortSnapshots orders by time, then id.
func SortSnapshots(sns []*Snapshot) {
	sort.Slice(sns, func(i, j int) bool {
		if !sns[i].Time.Equal(sns[j].Time) {
			return sns[i].Time.Before(sns[j].Time)
		}
		return sns[i].ID.String() < sns[j].ID.String()
	})
}

// Filter selects snapshots by host, tags and paths; empty fields match all.
type Filter struct {
	Hosts []string
	// Tags: a snapshot matches if it has all tags of any one entry; an
	// entry is a comma-separated tag list.
	Tags  []string
	Paths []string
}

// Match reports whether sn passes the filter.
func (f Filter) Match(sn *Snapshot) bool {
	if len(f.Hosts) > 0 && !contains(f.Hosts, sn.Host) {
		return false
	}
	if len(f.Paths) > 0 {
		for _, p := range f.Paths {
			if !contains(sn.Paths, cleanPath(p)) {
				return false
			}
		}
	}
	if len(f.Tags) > 0 {
		ok := false
		for _, entry := range f.Tags {
			all := true
			for _, t := range strings.Split(entry, ",") {
				if t != "" && !contains(sn.Tags, t) {
					all = false
				}
			}
			ok = ok || all
		}
		if !ok {
			return false
		}
	}
	return true
}

func cleanPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FindSnapshot resolves a name: a full id, a unique id prefix, or "latest"
// (the newest snapshot that passes f).
func (r *Repository) FindSnapshot(ctx context.Context, name string, f Filter) (*Snapshot, error) {
	if name == "latest" {
		sns, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		for i := len(sns) - 1; i >= 0; i-- {
			if f.Match(sns[i]) {
				return sns[i], nil
			}
		}
		return nil, fmt.Errorf("latest: %w", ErrNoSnapshot)
	}
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	var found []crypto.ID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), strings.ToLower(name)) {
			found = append(found, id)
		}
	}
	switch {
	case len(name) == 0 || len(found) == 0:
		return nil, fmt.Errorf("snapshot %q: %w", name, ErrNoSnapshot)
	case len(found) > 1:
		return nil, fmt.Errorf("snapshot %q: %w", name, ErrAmbiguous)
	}
	return r.LoadSnapshot(ctx, found[0])
}

// FindParent returns the newest snapshot of the same host, kind and paths,
// or nil.
func (r *Repository) FindParent(ctx context.Context, host, kind string, paths []string) (*Snapshot, error) {
	sns, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	want := append([]string(nil), paths...)
	sort.Strings(want)
	for i := len(sns) - 1; i >= 0; i-- {
		sn := sns[i]
		if sn.Host == host && sn.Kind == kind && equalStrings(sn.Paths, want) {
			return sn, nil
		}
	}
	return nil, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
