package scan

import (
	"testing"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
)

// A pack streamed in blocks with one block missing and one sent twice:
// exactly the wanted blobs overlapping the missing block are lost, every
// other wanted blob is delivered once with its plaintext, and unwanted
// blobs are not decoded.
func TestPackStreamLosesOnlyBlobsOverTheGap(t *testing.T) {
	key, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	data, blobs := makePack(t, key, 12)
	salt, err := pack.ReadHeader(data[:pack.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	pi := &index.PackInfo{ID: crypto.Hash(data), Salt: salt, Size: int64(len(data)), Blobs: blobs}
	var want []pack.Blob
	for i, b := range blobs {
		if i != 3 {
			want = append(want, b)
		}
	}
	const bs = 64 // blobs are about 100 bytes
	gapStart := int64(blobs[6].Offset) + 50
	gapStart -= gapStart % bs
	gapEnd := gapStart + bs
	delivered, lost := map[crypto.ID]int{}, map[crypto.ID]bool{}
	s := newPackStream(key, pi, append([]pack.Blob(nil), want...), func(b pack.Blob, plain []byte) error {
		if key.BlobID(plain) != b.ID {
			t.Errorf("blob %s delivered with the wrong plaintext", b.ID.Short())
		}
		delivered[b.ID]++
		return nil
	}, func(b pack.Blob, _ error) { lost[b.ID] = true })
	for off := int64(0); off < int64(len(data)); off += bs {
		if off == gapStart {
			continue
		}
		end := min(off+bs, int64(len(data)))
		if err := s.add(off, data[off:end]); err != nil {
			t.Fatal(err)
		}
		if off == gapStart+2*bs {
			if err := s.add(off, data[off:end]); err != nil { // a second copy
				t.Fatal(err)
			}
		}
	}
	s.finish()
	for _, b := range want {
		over := int64(b.Offset) < gapEnd && gapStart < int64(b.Offset)+int64(b.Length)
		switch {
		case over && !lost[b.ID]:
			t.Errorf("blob at %d overlaps the gap [%d,%d) but was not lost", b.Offset, gapStart, gapEnd)
		case !over && delivered[b.ID] != 1:
			t.Errorf("blob at %d delivered %d times, lost %v", b.Offset, delivered[b.ID], lost[b.ID])
		}
	}
	if delivered[blobs[3].ID] != 0 || lost[blobs[3].ID] {
		t.Error("an unwanted blob was handled")
	}
	t.Logf("gap [%d,%d): %d blobs lost, %d delivered", gapStart, gapEnd, len(lost), len(delivered))
	if len(lost) == 0 || len(delivered) == 0 {
		t.Fatalf("lost %d, delivered %d: the test does not test", len(lost), len(delivered))
	}
}
