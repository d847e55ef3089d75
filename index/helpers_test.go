package index

import (
	"math/rand/v2"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
)

// testAEAD returns the metadata-file AEAD of a fixed key, so sealed test
// vectors and fuzz seeds stay valid across runs.
func testAEAD(t testing.TB) *crypto.AEAD {
	t.Helper()
	var k crypto.Key
	for i := range k.Enc {
		k.Enc[i] = byte(i)
		k.ID[i] = byte(255 - i)
	}
	return k.FileAEAD()
}

// randID returns a pseudo-random id from rng.
func randID(rng *rand.Rand) crypto.ID {
	var id crypto.ID
	for i := 0; i < crypto.IDSize; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

// randFile returns a File of nPacks packs with perPack contiguous blobs
// each, shaped like real packs: a 24-byte header, blobs of about 1 MiB.
func randFile(rng *rand.Rand, nPacks, perPack int) *File {
	f := &File{Packs: make([]PackInfo, nPacks)}
	for i := range f.Packs {
		p := &f.Packs[i]
		p.ID = randID(rng)
		salt := randID(rng)
		copy(p.Salt[:], salt[:])
		off := uint32(pack.HeaderSize)
		typ := pack.DataBlob
		if rng.IntN(8) == 0 {
			typ = pack.TreeBlob
		}
		p.Blobs = make([]pack.Blob, perPack)
		for j := range p.Blobs {
			raw := uint32(512<<10 + rng.IntN(1<<20))
			l := raw/2 + 60
			p.Blobs[j] = pack.Blob{Type: typ, ID: randID(rng), Offset: off, Length: l, RawLength: raw}
			off += l
		}
		p.Size = int64(off) + 100
	}
	return f
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
