package prune

import (
	"cairn/pack"
	"cairn/repo/blobset"
	"context"
	"fmt"
	"time"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/repo"
	"cairn/repo/backend"
)

// Options configure a prune.
type Options struct {
	// MaxUnused is the share of unused bytes above which a partly used
	// pack is repacked (default 0.05).
	MaxUnused float64
	// MaxRepackSize bounds the bytes repacked in one run (0: no bound).
	MaxRepackSize int64
	// Grace is the minimum age of a deletion record before its packs are
	// deleted (default DefaultGrace).
	Grace time.Duration
	// SkewMargin is the clock difference between hosts that the protocol
	// tolerates (default DefaultSkewMargin).
	SkewMargin time.Duration
}

// Defaults of the two-phase deletion.
const (
	DefaultGrace      = time.Hour
	DefaultSkewMargin = 10 * time.Minute
	DefaultMaxUnused  = 0.05
)

func (o *Options) fill() {
	if o.MaxUnused <= 0 {
		o.MaxUnused = DefaultMaxUnused
	}
	if o.Grace < 0 {
		o.Grace = 0
	}
	if o.SkewMargin <= 0 {
		o.SkewMargin = DefaultSkewMargin
	}
}

// PackUse is one pack's use as found by the mark. Only the used blobs are
// kept (they are what a repack copies), so a plan stays small when most of
// a large repository is garbage.
type PackUse struct {
	ID          crypto.ID
	Salt        pack.Salt
	Size        int64
	Used        []pack.Blob
	UsedBytes   int64
	UnusedBytes int64
}

// Plan is everything a prune will do; Execute carries it out.
type Plan struct {
	Now       time.Time
	Snapshots int
	Used      int // distinct blobs referenced
	// Phase 2: due deletion records, split into packs to delete and packs
	// that turned out to be needed again.
	DueRecords []*repo.DeletionRecord
	Delete     []crypto.ID
	DeleteSize int64
	Revive     []crypto.ID
	// Postponed records are not due yet (too young, or an older backup
	// may still be running), with the reason.
	Postponed map[string]string
	// Phase 1: packs to list in a new deletion record.
	Unused     []crypto.ID // indexed packs with no used blob
	Unindexed  []crypto.ID // packs no index names
	Repack     []PackUse   // partly used packs whose used blobs are copied
	UnusedSize int64
	RepackSize int64
	// Totals over the index.
	Packs     int
	TotalSize int64

	used *blobset.Set
}

// PlanPrune computes a plan. It reads the repository and changes nothing.
func PlanPrune(ctx context.Context, r *repo.Repository, opts Options) (*Plan, error) {
	opts.fill()
	p := &Plan{Now: r.Now(), Postponed: map[string]string{}}
	if err := r.SyncIndex(ctx); err != nil {
		return nil, err
	}
	records, err := r.DeletionRecords(ctx)
	if err != nil {
		return nil, err
	}
	due, err := dueRecords(ctx, r, records, p, opts)
	if err != nil {
		return nil, err
	}
	// The mark comes after the lock check, so that every backup old enough
	// to have missed a due record has finished and its snapshot is seen.
	sns, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	p.Snapshots = len(sns)
	// A backup stores its index files before its snapshot: syncing again
	// after listing snapshots makes every blob they name visible (a
	// snapshot saved after the first sync otherwise looks damaged).
	if err := r.SyncIndex(ctx); err != nil {
		return nil, err
	}
	used, err := Mark(ctx, r, sns)
	if err != nil {
		return nil, err
	}
	p.Used = used.Len()
	p.used = used
	inRecord := map[crypto.ID]bool{}
	for _, rec := range records {
		for _, id := range rec.Packs {
			inRecord[id] = true
		}
	}
	if err := planPhase2(ctx, r, due, used, p); err != nil {
		return nil, err
	}
	if err := planPhase1(ctx, r, used, inRecord, p, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// dueRecords returns the records whose packs may be deleted now: older
// than the grace period, and no live lock was taken before the record
// (plus the skew margin) — such a backup may not have seen the record and
// may still write a snapshot that uses its packs.
func dueRecords(ctx context.Context, r *repo.Repository, records []*repo.DeletionRecord, p *Plan, opts Options) ([]*repo.DeletionRecord, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	var due []*repo.DeletionRecord
	for _, rec := range records {
		if age := p.Now.Sub(rec.Time); age < opts.Grace {
			p.Postponed[rec.Name] = fmt.Sprintf("record is %s old, grace period is %s", age.Round(time.Second), opts.Grace)
			continue
		}
		blocked := ""
		for _, l := range locks {
			if l.Kind == repo.LockMaintenance || r.IsStale(l) {
				continue
			}
			if l.Created.Before(rec.Time.Add(opts.SkewMargin)) {
				blocked = fmt.Sprintf("%s lock of pid %d on %s taken at %s may predate the record", l.Kind, l.PID, l.Host, l.Created.Format(time.RFC3339))
				break
			}
		}
		if blocked != "" {
			p.Postponed[rec.Name] = blocked
			continue
		}
		due = append(due, rec)
	}
	return due, nil
}

// planPhase2 splits the due records' packs: a pack is deleted unless it
// holds a used blob that no pack outside the deletion set provides. It
// decides pack by pack while streaming the index.
func planPhase2(ctx context.Context, r *repo.Repository, due []*repo.DeletionRecord, used *blobset.Set, p *Plan) error {
	dueSet := map[crypto.ID]bool{}
	for _, rec := range due {
		p.DueRecords = append(p.DueRecords, rec)
		for _, id := range rec.Packs {
			dueSet[id] = true
		}
	}
	if len(dueSet) == 0 {
		return nil
	}
	decided := map[crypto.ID]bool{}
	err := r.ForEachIndexedPack(ctx, func(pi index.PackInfo) error {
		if !dueSet[pi.ID] {
			return nil
		}
		decided[pi.ID] = true
		for _, b := range pi.Blobs {
			if !used.Has(b.ID) {
				continue
			}
			e, ok, err := r.LookupBlob(b.ID)
			if err != nil {
				return err
			}
			if !ok || e.Pack == pi.ID || dueSet[e.Pack] {
				p.Revive = append(p.Revive, pi.ID)
				return nil
			}
		}
		p.Delete = append(p.Delete, pi.ID)
		p.DeleteSize += pi.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	for id := range dueSet {
		if !decided[id] { // not indexed (anymore): nothing can need it
			p.Delete = append(p.Delete, id)
		}
	}
	return nil
}

// planPhase1 finds new candidates: unindexed packs, packs with no used
// blob, and partly used packs worth repacking.
func planPhase1(ctx context.Context, r *repo.Repository, used *blobset.Set, inRecord map[crypto.ID]bool, p *Plan, opts Options) error {
	indexed := map[crypto.ID]bool{}
	var partial []PackUse
	err := r.ForEachIndexedPack(ctx, func(pi index.PackInfo) error {
		indexed[pi.ID] = true
		p.Packs++
		p.TotalSize += pi.Size
		if inRecord[pi.ID] {
			return nil
		}
		u := PackUse{ID: pi.ID, Salt: pi.Salt, Size: pi.Size}
		for _, b := range pi.Blobs {
			if used.Has(b.ID) {
				u.Used = append(u.Used, b)
				u.UsedBytes += int64(b.Length)
			} else {
				u.UnusedBytes += int64(b.Length)
			}
		}
		switch {
		case len(u.Used) == 0:
			p.Unused = append(p.Unused, pi.ID)
			p.UnusedSize += pi.Size
		case u.UnusedBytes > 0 && float64(u.UnusedBytes) > opts.MaxUnused*float64(u.UsedBytes+u.UnusedBytes):
			partial = append(partial, u)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	for _, u := range partial {
		if opts.MaxRepackSize > 0 && p.RepackSize+u.UsedBytes > opts.MaxRepackSize {
			break
		}
		p.Repack = append(p.Repack, u)
		p.RepackSize += u.UsedBytes
	}
	return r.Backend().List(ctx, backend.PackFile, func(fi backend.FileInfo) error {
		id, err := crypto.ParseID(fi.Name)
		if err == nil && !indexed[id] && !inRecord[id] {
			p.Unindexed = append(p.Unindexed, id)
			p.UnusedSize += fi.Size
		}
		return nil
	})
}
