package index

import (
	"bytes"
	"errors"
	"testing"

	"cairn/internal/crypto"
)

// fuzzSeeds are plaintexts of valid files of several shapes, and a few
// broken ones; testdata/fuzz/FuzzDecode holds more (and a sealed file).
func fuzzSeeds(t testing.TB) [][]byte {
	rng := newRand(40)
	var seeds [][]byte
	for _, f := range []*File{
		{},
		{Supersedes: []crypto.ID{randID(rng)}},
		randFile(rng, 1, 1),
		func() *File { f := randFile(rng, 3, 4); f.Supersedes = []crypto.ID{randID(rng), randID(rng)}; return f }(),
	} {
		p, err := f.appendPlain(nil)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, p)
	}
	seeds = append(seeds,
		[]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		[]byte{1, 0x80, 0x00, 0},
		seeds[2][:len(seeds[2])-5],
	)
	return seeds
}

// FuzzDecode feeds arbitrary bytes to Decode (with a fixed key: they
// almost never verify, which is the point: no panic, only ErrAuth), and
// to the unsealed parser directly and sealed, where the parser gets to
// see every mutation. Whatever parses must be valid and re-encode to the
// very same bytes; whatever does not must fail with ErrFormat.
func FuzzDecode(f *testing.F) {
	aead := testAEAD(f)
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Decode(aead, data); err != nil && !errors.Is(err, crypto.ErrAuth) && !errors.Is(err, ErrFormat) {
			t.Fatalf("Decode of arbitrary bytes: unexpected error %v", err)
		}

		file, err := decodePlain(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("decodePlain: error %v does not wrap ErrFormat", err)
			}
		} else {
			if verr := file.validate(); verr != nil {
				t.Fatalf("decodePlain accepted an invalid file: %v", verr)
			}
			again, err := file.appendPlain(nil)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, data)
			}
		}

		sealedFile, serr := Decode(aead, aead.Seal(nil, data, fileAD))
		if (serr == nil) != (err == nil) {
			t.Fatalf("sealed and unsealed parse disagree: %v vs %v", serr, err)
		}
		if serr == nil && sealedFile.BlobCount() != file.BlobCount() {
			t.Fatalf("sealed parse found %d blobs, unsealed %d", sealedFile.BlobCount(), file.BlobCount())
		}
	})
}
