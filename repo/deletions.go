package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"cairn/internal/crypto"
	"cairn/repo/backend"
)

// DeletionRecord lists packs that prune found unused at Time. They stay
// indexed (readable) but no backup deduplicates against them; a later prune
// deletes those still unused once no backup that started before Time is
// alive (docs/format.md, "Prune").
type DeletionRecord struct {
	Name  string      `json:"-"`
	Time  time.Time   `json:"time"`
	Host  string      `json:"host"`
	Packs []crypto.ID `json:"packs"`
}

const deletionAD = "cairn deletion record v1"

// SaveDeletionRecord stores rec under a new random name.
func (r *Repository) SaveDeletionRecord(ctx context.Context, rec *DeletionRecord) error {
	if rec.Name == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		rec.Name = hex.EncodeToString(b[:])
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	sealed := r.fileAEAD.Seal(nil, plain, []byte(deletionAD))
	if err := r.be.Save(ctx, backend.Handle{Type: backend.DeletionFile, Name: rec.Name}, sealed); err != nil {
		return fmt.Errorf("save deletion record: %w", err)
	}
	r.mu.Lock()
	for _, p := range rec.Packs {
		r.doomed[p] = true
	}
	r.mu.Unlock()
	return nil
}

// DeletionRecords loads every deletion record.
func (r *Repository) DeletionRecords(ctx context.Context) ([]*DeletionRecord, error) {
	var names []string
	if err := r.be.List(ctx, backend.DeletionFile, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list deletion records: %w", err)
	}
	var out []*DeletionRecord
	for _, name := range names {
		sealed, err := backend.LoadAll(ctx, r.be, backend.Handle{Type: backend.DeletionFile, Name: name})
		if backend.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load deletion record %s: %w", name, err)
		}
		plain, err := r.fileAEAD.Open(nil, sealed, []byte(deletionAD))
		if err != nil {
			return nil, fmt.Errorf("deletion record %s: %w", name, err)
		}
		rec := &DeletionRecord{Name: name}
		if err := json.Unmarshal(plain, rec); err != nil {
			return nil, fmt.Errorf("decode deletion record %s: %w", name, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// RemoveDeletionRecord deletes a record (after its packs were handled).
func (r *Repository) RemoveDeletionRecord(ctx context.Context, rec *DeletionRecord) error {
	err := r.be.Remove(ctx, backend.Handle{Type: backend.DeletionFile, Name: rec.Name})
	if err != nil && !backend.IsNotExist(err) {
		return fmt.Errorf("remove deletion record %s: %w", rec.Name, err)
	}
	return nil
}

// loadDoomed refreshes the set of packs no backup may deduplicate against.
func (r *Repository) loadDoomed(ctx context.Context) error {
	recs, err := r.DeletionRecords(ctx)
	if err != nil {
		return err
	}
	m := map[crypto.ID]bool{}
	for _, rec := range recs {
		for _, p := range rec.Packs {
			m[p] = true
		}
	}
	r.mu.Lock()
	r.doomed = m
	r.mu.Unlock()
	return nil
}

// Doomed reports whether a pack is listed for deletion.
func (r *Repository) Doomed(pack crypto.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.doomed[pack]
}
