package pack

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"cairn/internal/crypto"
)

// testKey returns a master key fixed by seed, so that fuzz seeds stay valid.
func testKey(seed byte) *crypto.Key {
	k := &crypto.Key{}
	for i := range k.Enc {
		k.Enc[i] = seed + byte(i)
		k.ID[i] = seed ^ byte(3*i+1)
	}
	return k
}

// randomBytes returns n incompressible bytes, reproducible from seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textBytes returns n bytes of text-like data (words from a random
// vocabulary, lines of varying length): zstd shrinks it a few times, as it
// does source code or logs.
func textBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	vocab := make([]string, 2000)
	for i := range vocab {
		var w strings.Builder
		for range 2 + r.IntN(9) {
			w.WriteByte(byte('a' + r.IntN(26)))
		}
		vocab[i] = w.String()
	}
	var buf bytes.Buffer
	buf.Grow(n + 16)
	for buf.Len() < n {
		// Zipf-like: a few words are frequent.
		buf.WriteString(vocab[int(float64(len(vocab))*r.Float64()*r.Float64()*r.Float64())])
		if r.IntN(12) == 0 {
			buf.WriteByte('\n')
		} else {
			buf.WriteByte(' ')
		}
	}
	return buf.Bytes()[:n]
}

// blobSpec is one blob a test puts in a pack.
type blobSpec struct {
	typ   BlobType
	plain []byte
}

// testPack is a finalized pack and what went into it.
type testPack struct {
	master *crypto.Key
	data   []byte
	id     crypto.ID
	salt   Salt
	blobs  []Blob
	plain  map[crypto.ID][]byte
}

// buildPack writes specs into one pack with master.
func buildPack(t testing.TB, master *crypto.Key, specs []blobSpec) *testPack {
	t.Helper()
	w, err := NewWriter(master)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPack{master: master, plain: make(map[crypto.ID][]byte)}
	for _, s := range specs {
		id := master.BlobID(s.plain)
		if err := w.Add(s.typ, id, s.plain); err != nil {
			t.Fatalf("add %d bytes: %v", len(s.plain), err)
		}
		p.plain[id] = s.plain
	}
	wantSize := w.Size()
	p.data, p.id, p.salt, p.blobs, err = w.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.data), wantSize+minTrailerSealed+entrySize*len(specs)+tailSize; got != want {
		t.Fatalf("pack is %d bytes, Size said %d, want %d with trailer", got, wantSize, want)
	}
	return p
}

// smallSpecs are a few blobs of each kind, small enough to flip every bit.
func smallSpecs() []blobSpec {
	return []blobSpec{
		{DataBlob, textBytes(1, 300)},
		{DataBlob, randomBytes(2, 120)},
		{TreeBlob, []byte(`{"nodes":[{"name":"a","type":"file"},{"name":"b","type":"file"}]}`)},
		{DataBlob, nil},
		{DataBlob, textBytes(3, 1000)},
	}
}
