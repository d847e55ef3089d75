package blockdev

import (
	"cmp"
	"slices"

	"cairn/chunker"
)

// mergeExtents clips ext to [0, size), sorts it and merges overlapping
// or touching extents. It does not modify ext.
func mergeExtents(ext []chunker.Extent, size int64) []chunker.Extent {
	out := make([]chunker.Extent, 0, len(ext))
	for _, e := range ext {
		end := min(e.Offset+e.Length, size)
		if e.Offset < 0 || e.Length <= 0 || e.Offset >= end {
			continue
		}
		out = append(out, chunker.Extent{Offset: e.Offset, Length: end - e.Offset})
	}
	slices.SortFunc(out, func(a, b chunker.Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	merged := out[:0]
	for _, e := range out {
		if n := len(merged); n > 0 && e.Offset <= merged[n-1].Offset+merged[n-1].Length {
			last := &merged[n-1]
			last.Length = max(last.Length, e.Offset+e.Length-last.Offset)
			continue
		}
		merged = append(merged, e)
	}
	return merged
}

// MergeExtents is mergeExtents for other sources (the VMware source
// merges CBT answers with it).
func MergeExtents(ext []chunker.Extent, size int64) []chunker.Extent { return mergeExtents(ext, size) }
