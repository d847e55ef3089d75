package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cairn/tapeio/volume"
)

// LabelOptions say how `tape label` labels volumes.
type LabelOptions struct {
	// MediaSet is the set the volumes join; zero starts a new one.
	MediaSet volume.ID
	// Seq is the sequence number of the first volume labelled (the others
	// follow); 0 means 1 for a new set, and for a set joined one more than
	// the highest number its volumes among the other media carry.
	Seq int
	// BlockSize recorded in the labels; 0 is volume.DefaultBlockSize.
	BlockSize int
	// Force relabels volumes that hold data (cairn volumes with files, or
	// tapes that are not cairn's). Blank and label-only volumes never need
	// it.
	Force bool
	Host  string
	Now   func() time.Time
}

// Labelled is one volume Label wrote.
type Labelled struct {
	Medium string       `json:"medium"`
	Was    string       `json:"was"`
	Label  volume.Label `json:"label"`
}

// Label writes a label with no data after it on media targets (indexes
// into m), in order, with consecutive sequence numbers. Such volumes are
// what an export takes like blank ones. Nothing is written unless every
// target may be labelled.
func Label(ctx context.Context, m Media, targets []int, opts LabelOptions) ([]Labelled, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	join := opts.MediaSet != volume.ID{}
	if !join {
		opts.MediaSet = volume.NewID()
	}
	isTarget := map[int]bool{}
	out := make([]Labelled, len(targets))
	for i, t := range targets {
		if t < 0 || t >= m.Count() {
			return nil, fmt.Errorf("no medium %d", t)
		}
		isTarget[t] = true
		out[i].Medium = m.Name(t)
	}
	// Joining a set without a number: look at every slot of a changer for
	// the set's highest number. Drives show only what is loaded.
	_, isChanger := m.(*ChangerMedia)
	look := targets
	if join && opts.Seq == 0 {
		if !isChanger {
			return nil, errors.New("joining a media set on a drive needs the sequence number (seq)")
		}
		look = nil
		for i := 0; i < m.Count(); i++ {
			look = append(look, i)
		}
	}
	highest := 0
	for _, i := range look {
		d, err := m.Open(ctx, i)
		if err != nil {
			if isTarget[i] {
				return nil, fmt.Errorf("%s: %w", m.Name(i), err)
			}
			continue // an empty slot, a drive that fails: not ours to label
		}
		content, l, err := volume.Inspect(ctx, d)
		m.Release()
		if err != nil {
			if isTarget[i] {
				return nil, fmt.Errorf("%s: %w", m.Name(i), err)
			}
			continue
		}
		if isTarget[i] {
			for j, t := range targets {
				if t == i {
					out[j].Was = describe(content, l)
				}
			}
			if (content == volume.CairnData || content == volume.Foreign) && !opts.Force {
				return nil, fmt.Errorf("%s: %s: %w", m.Name(i), describe(content, l), ErrHoldsData)
			}
			continue
		}
		if content != volume.Foreign && content != volume.Blank && l.SetID == opts.MediaSet {
			highest = max(highest, int(l.Seq))
		}
	}
	seq := opts.Seq
	if seq == 0 {
		seq = highest + 1
	}
	for i, t := range targets {
		d, err := m.Open(ctx, t)
		if err != nil {
			return out[:i], fmt.Errorf("%s: %w", m.Name(t), err)
		}
		l, err := volume.WriteLabel(ctx, d, volume.Label{
			BlockSize: opts.BlockSize, SetID: opts.MediaSet, Seq: uint32(seq + i), Created: opts.Now(), Host: opts.Host,
		})
		if rerr := m.Release(); err == nil {
			err = rerr
		}
		if err != nil {
			return out[:i], fmt.Errorf("%s: %w", m.Name(t), err)
		}
		out[i].Label = l
	}
	return out, nil
}

func describe(c volume.Content, l volume.Label) string {
	if c == volume.CairnData || c == volume.LabelOnly {
		return fmt.Sprintf("%s (volume %d of set %s)", c, l.Seq, l.SetID)
	}
	return c.String()
}

// Index returns the media index of changer slot number slot.
func (m *ChangerMedia) Index(slot int) (int, bool) {
	for i, s := range m.slots {
		if s.Number == slot {
			return i, true
		}
	}
	return 0, false
}
