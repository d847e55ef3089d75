package chunker

import (
	"sync"

	rc "github.com/restic/chunker"
)

// rabinTables are restic/chunker's lookup tables for one polynomial: out
// removes the byte leaving the 64-byte window from the digest, mod reduces
// the digest after a byte is shifted in. They are computed exactly as
// restic computes them, so that cuts are identical to restic's.
type rabinTables struct {
	out [256]uint64
	mod [256]uint64
}

// tableCache holds the tables per polynomial: a repository uses one, and
// computing them takes ~100 µs, more than chunking a small file.
var tableCache sync.Map // rc.Pol → *rabinTables

// tablesFor returns the tables of pol, whose degree check() has bounded.
func tablesFor(pol rc.Pol) *rabinTables {
	if t, ok := tableCache.Load(pol); ok {
		return t.(*rabinTables)
	}
	t := new(rabinTables)
	for b := range 256 {
		// out[b] = hash of b followed by WindowSize-1 zero bytes.
		h := appendByte(0, byte(b), pol)
		for range WindowSize - 1 {
			h = appendByte(h, 0, pol)
		}
		t.out[b] = uint64(h)
	}
	k := pol.Deg()
	for b := range 256 {
		// mod[b] = (b·x^k mod pol) | b·x^k: one XOR both cancels the 8
		// bits above the degree and adds their remainder.
		t.mod[b] = uint64(rc.Pol(uint64(b)<<uint(k)).Mod(pol) | rc.Pol(uint64(b)<<uint(k)))
	}
	actual, _ := tableCache.LoadOrStore(pol, t)
	return actual.(*rabinTables)
}

func appendByte(h rc.Pol, b byte, pol rc.Pol) rc.Pol {
	return (h<<8 | rc.Pol(b)).Mod(pol)
}

// rabin finds cut points in a contiguous buffer holding a chunk from its
// first byte, exactly where restic/chunker cuts.
//
// restic's digest at a chunk's start is that of a window holding 63 zeros
// and a one; the first MinSize-WindowSize bytes are not hashed; a cut may
// follow any byte from the MinSize-th on where the digest's low AverageBits
// bits are zero, or the MaxSize-th byte. The one leaves the window exactly
// when the MinSize-th byte enters it, so from there on the digest is the
// Rabin fingerprint of the 64 bytes in the window alone (the tables keep it
// fully reduced mod the polynomial), whatever came before. rabin therefore
// computes the fingerprint at any position afresh from the 64 bytes before
// it, which lets findCut hash four stretches of the chunk at once: the
// digest is a chain of dependent table lookups, and one chain leaves most
// of a core idle.
type rabin struct {
	tab      *rabinTables
	polShift uint
	mask     uint64
	minSize  int
	maxSize  int
	// scanned is the position in the current chunk up to which no cut was
	// found (0: nothing scanned yet).
	scanned int
}

func newRabin(p Params) rabin {
	pol := rc.Pol(p.Polynomial)
	return rabin{
		tab:      tablesFor(pol),
		polShift: uint(pol.Deg() - 8),
		mask:     1<<uint(p.AverageBits) - 1,
		minSize:  int(p.MinSize),
		maxSize:  int(p.MaxSize),
	}
}

// startChunk forgets the scan state: the next cut call begins a chunk.
func (r *rabin) startChunk() { r.scanned = 0 }

// cut looks for the end of the chunk that starts at chunk[0], given that
// chunk holds all bytes available so far (more may follow unless eof). It
// returns the chunk's length, or 0 if more bytes are needed to decide.
// Scanning resumes where the previous call on the same chunk stopped.
func (r *rabin) cut(chunk []byte, eof bool) int {
	n := len(chunk)
	end := min(n, r.maxSize)
	from := max(r.scanned, r.minSize-1)
	if from < end {
		if i := r.findCut(chunk, from, end); i >= 0 {
			return i + 1
		}
		r.scanned = end
	}
	switch {
	case end == r.maxSize:
		return r.maxSize
	case eof:
		return n
	}
	return 0
}

// findLane is the length of the stretches findCut hashes side by side. A
// stretch costs 63 bytes of warm-up, and after a cut the rest of its group
// is wasted, so it is small against the average chunk.
const findLane = 8 << 10

// findCut returns the first i in [from, to) at which the fingerprint of
// data[i-63:i+1] has its low mask bits zero, or -1. from must be >= 63.
func (r *rabin) findCut(data []byte, from, to int) int {
	for to-from >= 4*findLane {
		if i := r.find4(data, from); i >= 0 {
			return i
		}
		from += 4 * findLane
	}
	if from < to {
		return r.find1(data, from, to)
	}
	return -1
}

// warm returns the fingerprint of data[i-63:i+1].
func (r *rabin) warm(data []byte, i int) uint64 {
	tab, shift := r.tab, r.polShift&63
	var d uint64
	for _, b := range data[i-63 : i+1] {
		d = (d<<8 | uint64(b)) ^ tab.mod[(d>>shift)&255]
	}
	return d
}

// find1 is findCut on one chain.
func (r *rabin) find1(data []byte, from, to int) int {
	tab, shift, mask := r.tab, r.polShift&63, r.mask
	d := r.warm(data, from)
	if d&mask == 0 {
		return from
	}
	in := data[from+1 : to]
	out := data[from+1-WindowSize : to-WindowSize]
	out = out[:len(in)]
	for j, b := range in {
		d ^= tab.out[out[j]]
		d = (d<<8 | uint64(b)) ^ tab.mod[(d>>shift)&255]
		if d&mask == 0 {
			return from + 1 + j
		}
	}
	return -1
}

// find4 is findCut over [from, from+4*findLane) on four chains, one per
// quarter: the first quarter's cut wins, then the second's, and so on.
func (r *rabin) find4(data []byte, from int) int {
	tab, shift, mask := r.tab, r.polShift&63, r.mask
	const L = findLane
	// w[WindowSize+q*L+k] is the byte at from+q*L+k; an array pointer lets
	// the compiler drop the bounds checks in the loop.
	w := (*[WindowSize + 4*L]byte)(data[from-WindowSize : from+4*L])
	d0, d1, d2, d3 := r.warm(data, from), r.warm(data, from+L), r.warm(data, from+2*L), r.warm(data, from+3*L)
	hit := [4]int{-1, -1, -1, -1}
	record(&hit, [4]uint64{d0, d1, d2, d3}, mask, from, 0)
	k := 1
	for hit[0] < 0 && hit[1] < 0 && k < L {
		o0, i0 := w[k], w[WindowSize+k]
		o1, i1 := w[L+k], w[WindowSize+L+k]
		o2, i2 := w[2*L+k], w[WindowSize+2*L+k]
		o3, i3 := w[3*L+k], w[WindowSize+3*L+k]
		d0 ^= tab.out[o0]
		d1 ^= tab.out[o1]
		d2 ^= tab.out[o2]
		d3 ^= tab.out[o3]
		d0 = (d0<<8 | uint64(i0)) ^ tab.mod[(d0>>shift)&255]
		d1 = (d1<<8 | uint64(i1)) ^ tab.mod[(d1>>shift)&255]
		d2 = (d2<<8 | uint64(i2)) ^ tab.mod[(d2>>shift)&255]
		d3 = (d3<<8 | uint64(i3)) ^ tab.mod[(d3>>shift)&255]
		if d0&mask == 0 || d1&mask == 0 || d2&mask == 0 || d3&mask == 0 {
			record(&hit, [4]uint64{d0, d1, d2, d3}, mask, from, k)
		}
		k++
	}
	if hit[0] >= 0 {
		return hit[0]
	}
	if hit[1] >= 0 && k < L {
		// Stopped at a cut in the second quarter: the rest of the first
		// quarter may still hold an earlier one.
		if i := r.find1(data, from+k, from+L); i >= 0 {
			return i
		}
	}
	for _, h := range hit[1:] {
		if h >= 0 {
			return h
		}
	}
	return -1
}

// record notes, for each quarter of find4 without a cut yet, a cut at
// offset k of the quarter.
func record(hit *[4]int, d [4]uint64, mask uint64, from, k int) {
	for q := range d {
		if d[q]&mask == 0 && hit[q] < 0 {
			hit[q] = from + q*findLane + k
		}
	}
}
