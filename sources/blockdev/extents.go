package blockdev

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"cairn/chunker"
)

// ReadExtentsFile reads a changed-extent list from path; see ParseExtents.
func ReadExtentsFile(path string) ([]chunker.Extent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("changed extents: %w", err)
	}
	defer f.Close()
	ext, err := ParseExtents(f)
	if err != nil {
		return nil, fmt.Errorf("changed extents %s: %w", path, err)
	}
	return ext, nil
}

// ParseExtents reads one extent per line as "OFFSET,LENGTH" in bytes
// (a comma, spaces or a tab between them; decimal, or hex with 0x). Blank
// lines and lines starting with '#' are ignored. Extents may overlap and
// come in any order. An empty list is valid: nothing changed.
func ParseExtents(r io.Reader) ([]chunker.Extent, error) {
	out := []chunker.Extent{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want OFFSET,LENGTH, got %q", line, s)
		}
		off, err1 := strconv.ParseInt(f[0], 0, 64)
		n, err2 := strconv.ParseInt(f[1], 0, 64)
		if err1 != nil || err2 != nil || off < 0 || n < 0 || off > (1<<62) || n > (1<<62) {
			return nil, fmt.Errorf("line %d: bad offset or length in %q", line, s)
		}
		out = append(out, chunker.Extent{Offset: off, Length: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// extentBytes sums the lengths of extents clipped to size, counting
// overlaps once.
func extentBytes(ext []chunker.Extent, size int64) int64 {
	var total int64
	for _, e := range mergeExtents(ext, size) {
		total += e.Length
	}
	return total
}
