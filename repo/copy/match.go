package copy

import (
	"strings"
	"time"

	"cairn/internal/crypto"
	"cairn/repo"
)

// copiedSet answers "does the destination already have this snapshot?".
type copiedSet struct {
	ids  map[crypto.ID]bool // destination ids and the originals they name
	same map[string]bool    // time, host, paths and kind
}

func newCopiedSet(sns []*repo.Snapshot) *copiedSet {
	s := &copiedSet{ids: map[crypto.ID]bool{}, same: map[string]bool{}}
	for _, sn := range sns {
		s.add(sn)
	}
	return s
}

func (s *copiedSet) add(sn *repo.Snapshot) {
	s.ids[sn.ID] = true
	if sn.Original != nil {
		s.ids[*sn.Original] = true
	}
	s.same[sameKey(sn)] = true
}

// has matches by original id first, then by what a snapshot records of
// its backup: a copy made by another tool, or one whose original was
// itself a copy, still matches.
func (s *copiedSet) has(sn *repo.Snapshot) bool {
	if s.ids[sn.ID] || (sn.Original != nil && s.ids[*sn.Original]) {
		return true
	}
	return s.same[sameKey(sn)]
}

func sameKey(sn *repo.Snapshot) string {
	return sn.Time.UTC().Format(time.RFC3339Nano) + "\x00" + groupKey(sn) + "\x00" + sn.Kind
}

// groupKey is host and paths: the snapshots a backup takes as parents.
func groupKey(sn *repo.Snapshot) string {
	return sn.Host + "\x00" + strings.Join(sn.Paths, "\x00")
}
