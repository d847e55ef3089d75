package scan

import (
	"bytes"
	"fmt"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
)

func TestSpans(t *testing.T) {
	var s spans
	s.add(10, 20)
	s.add(30, 40)
	s.add(0, 5)
	s.add(18, 31)
	if want := (spans{{0, 5}, {10, 40}}); fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("spans %v, want %v", s, want)
	}
	if !s.covers(12, 40) || s.covers(4, 11) || !s.covers(7, 7) {
		t.Error("covers is wrong")
	}
	if h := s.holes(50); fmt.Sprint(h) != fmt.Sprint(spans{{5, 10}, {40, 50}}) {
		t.Errorf("holes %v", h)
	}
}

// makePack builds a pack of n blobs of distinct random content.
func makePack(t *testing.T, key *crypto.Key, n int) ([]byte, []pack.Blob) {
	t.Helper()
	w, err := pack.NewWriter(key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		data := bytes.Repeat([]byte{byte(i), byte(i * 7), 1, 2, 3}, 3000+i*100)
		if err := w.Add(pack.DataBlob, key.BlobID(data), data); err != nil {
			t.Fatal(err)
		}
	}
	data, _, _, blobs, err := w.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	return data, blobs
}

// With the trailer lost and a hole in the middle, walking the headers
// finds every blob that does not overlap the hole, before and after it.
func TestWalkHeadersResyncsAfterHole(t *testing.T) {
	key, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	data, blobs := makePack(t, key, 12)
	mid := blobs[5]
	holeStart, holeEnd := int64(mid.Offset)+100, int64(blobs[7].Offset)+10
	trailerStart := int64(blobs[len(blobs)-1].Offset + blobs[len(blobs)-1].Length)
	var cov spans
	cov.add(0, holeStart)
	cov.add(holeEnd, trailerStart) // the trailer did not arrive
	damaged := bytes.Clone(data[:trailerStart])
	clear(damaged[holeStart:holeEnd])

	found := map[crypto.ID]pack.Blob{}
	for _, b := range walkHeaders(damaged, cov) {
		found[b.ID] = b
	}
	for i, b := range blobs {
		overlaps := int64(b.Offset) < holeEnd && holeStart < int64(b.Offset+b.Length)
		got, ok := found[b.ID]
		switch {
		case overlaps && ok && i != 5:
			t.Errorf("blob %d overlaps the hole, its header too, yet was found", i)
		case !overlaps && !ok:
			t.Errorf("blob %d (offset %d) lies outside the hole but was not found", i, b.Offset)
		case !overlaps && got != b:
			t.Errorf("blob %d: found %+v, want %+v", i, got, b)
		}
	}
	if len(found) < 9 {
		t.Errorf("found %d blobs of 12", len(found))
	}
}
