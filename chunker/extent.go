package chunker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Extent is a changed region of a disk image or stream, as reported by CBT
// or a caller-supplied list.
type Extent struct {
	Offset int64 // first changed byte
	Length int64 // bytes changed from Offset on; 0 means none
}

// normaliseExtents clips extents to [0, size), drops empty ones, sorts them
// and merges overlapping or touching ones, so that the result is sorted and
// disjoint. It does not modify its argument.
func normaliseExtents(changed []Extent, size int64) ([]Extent, error) {
	out := make([]Extent, 0, len(changed))
	for _, e := range changed {
		if e.Offset < 0 || e.Length < 0 {
			return nil, fmt.Errorf("%w: changed extent offset %d length %d", ErrInvalidInput, e.Offset, e.Length)
		}
		end := int64(math.MaxInt64)
		if e.Length <= math.MaxInt64-e.Offset {
			end = e.Offset + e.Length
		}
		end = min(end, size)
		if e.Offset >= end {
			continue
		}
		out = append(out, Extent{Offset: e.Offset, Length: end - e.Offset})
	}
	slices.SortFunc(out, func(a, b Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	merged := out[:0]
	for _, e := range out {
		if n := len(merged); n > 0 && e.Offset <= merged[n-1].Offset+merged[n-1].Length {
			last := &merged[n-1]
			last.Length = max(last.Length, e.Offset+e.Length-last.Offset)
			continue
		}
		merged = append(merged, e)
	}
	return merged, nil
}
