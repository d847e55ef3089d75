package pack

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"cairn/internal/crypto"
)

func TestRoundTrip(t *testing.T) {
	master := testKey(1)
	var specs []blobSpec
	sizes := []int{0, 1, 47, 48, 100, 4 << 10, 64<<10 + 3, 1 << 20, 8 << 20}
	for i, n := range sizes {
		specs = append(specs,
			blobSpec{DataBlob, randomBytes(uint64(i), n)},
			blobSpec{TreeBlob, textBytes(uint64(i), n)},
		)
	}
	// Zero-length blobs of both kinds have the same content and so the same
	// id; keep one.
	specs = slices.DeleteFunc(specs, func(s blobSpec) bool { return len(s.plain) == 0 && s.typ == TreeBlob })
	specs = append(specs, blobSpec{DataBlob, make([]byte, 2<<20)}) // a zero run

	p := buildPack(t, master, specs)
	if p.id != crypto.Hash(p.data) {
		t.Fatal("pack id is not the hash of its bytes")
	}
	if len(p.blobs) != len(specs) {
		t.Fatalf("Finalize returned %d blobs, want %d", len(p.blobs), len(specs))
	}
	salt, err := ReadHeader(p.data)
	if err != nil || salt != p.salt {
		t.Fatalf("ReadHeader = %x, %v; want %x", salt, err, p.salt)
	}

	listSalt, listed, err := List(master, bytes.NewReader(p.data), int64(len(p.data)))
	if err != nil {
		t.Fatal(err)
	}
	if listSalt != p.salt || !slices.Equal(listed, p.blobs) {
		t.Fatalf("List differs from Finalize:\n%v\n%v", listed, p.blobs)
	}

	var scanned []Blob
	scanSalt, err := Scan(bytes.NewReader(p.data), func(b Blob) error { scanned = append(scanned, b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if scanSalt != p.salt || !slices.Equal(scanned, p.blobs) {
		t.Fatalf("Scan differs from Finalize:\n%v\n%v", scanned, p.blobs)
	}

	aead := KeyFor(master, p.salt)
	dst := []byte("prefix")
	for _, b := range p.blobs {
		want := p.plain[b.ID]
		if b.RawLength != uint32(len(want)) {
			t.Errorf("blob %s: RawLength %d, want %d", b.ID.Short(), b.RawLength, len(want))
		}
		got, err := DecodeBlob(master, aead, p.data[b.Offset:b.Offset+b.Length], b, dst)
		if err != nil {
			t.Fatalf("DecodeBlob %s (%d bytes): %v", b.ID.Short(), b.RawLength, err)
		}
		if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("DecodeBlob %s: wrong plaintext", b.ID.Short())
		}
		dst = got[:len("prefix")] // reuse the buffer as a restore loop would
	}
}

func TestCompressionChoice(t *testing.T) {
	master := testKey(2)
	text := textBytes(7, 1<<20)
	random := randomBytes(7, 1<<20)
	p := buildPack(t, master, []blobSpec{{DataBlob, text}, {DataBlob, random}})
	for _, b := range p.blobs {
		stored := b.Length - BlobOverhead
		switch b.ID {
		case master.BlobID(text):
			if stored >= b.RawLength/2 {
				t.Errorf("text blob stored in %d of %d bytes: not compressed", stored, b.RawLength)
			}
		case master.BlobID(random):
			if stored != b.RawLength {
				t.Errorf("random blob stored in %d bytes, raw %d: want it stored as is", stored, b.RawLength)
			}
		}
	}
	// The compressed form must never contain the plaintext in the clear.
	if bytes.Contains(p.data, text[:64]) || bytes.Contains(p.data, random[:64]) {
		t.Fatal("plaintext visible in the pack")
	}
}

func TestCompress(t *testing.T) {
	text := textBytes(9, 256<<10)
	buf := make([]byte, 0, 10)
	payload, ok := Compress(buf, text)
	if !ok || len(payload) >= len(text) {
		t.Fatalf("text not compressed: %d -> %d", len(text), len(payload))
	}
	got, err := decompress(nil, payload, len(text))
	if err != nil || !bytes.Equal(got, text) {
		t.Fatalf("decompress: %v", err)
	}
	// A claimed raw length below the real one stops decompression: the
	// bound that defuses decompression bombs.
	if _, err := decompress(nil, payload, len(text)-1); err == nil {
		t.Fatal("decompress beyond the raw length succeeded")
	}
	if _, err := decompress(nil, payload, len(text)+1); err == nil {
		t.Fatal("decompress to fewer bytes than the raw length succeeded")
	}
	random := randomBytes(9, 4096)
	payload, ok = Compress(nil, random)
	if ok || &payload[0] != &random[0] {
		t.Fatal("random data: want the plaintext back, uncompressed")
	}
	if payload, ok := Compress(nil, nil); ok || len(payload) != 0 {
		t.Fatal("empty input compressed")
	}
}

func TestCompressConcurrent(t *testing.T) {
	inputs := make([][]byte, 8)
	for i := range inputs {
		inputs[i] = textBytes(uint64(i), 200<<10)
	}
	errc := make(chan error, len(inputs))
	for _, in := range inputs {
		go func() {
			var buf, out []byte
			for range 5 {
				payload, ok := Compress(buf, in)
				if !ok {
					errc <- errors.New("not compressed")
					return
				}
				buf = payload
				var err error
				out, err = decompress(out[:0], payload, len(in))
				if err != nil || !bytes.Equal(out, in) {
					errc <- errors.New("round trip differs")
					return
				}
			}
			errc <- nil
		}()
	}
	for range inputs {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func TestShuffledOrder(t *testing.T) {
	master := testKey(3)
	var specs []blobSpec
	for i := range 40 {
		specs = append(specs, blobSpec{DataBlob, randomBytes(uint64(i), 10+i)})
	}
	// The probability that each of three packs keeps insertion order is
	// (1/40!)^3: this cannot fail by chance.
	for range 3 {
		p := buildPack(t, master, specs)
		for i, b := range p.blobs {
			if b.ID != master.BlobID(specs[i].plain) {
				return
			}
		}
	}
	t.Fatal("three packs all kept insertion order: blobs are not shuffled")
}

func TestEmptyPack(t *testing.T) {
	master := testKey(4)
	p := buildPack(t, master, nil)
	if len(p.data) != HeaderSize+minTrailerSealed+tailSize {
		t.Fatalf("empty pack of %d bytes", len(p.data))
	}
	_, blobs, err := List(master, bytes.NewReader(p.data), int64(len(p.data)))
	if err != nil || len(blobs) != 0 {
		t.Fatalf("List = %v, %v", blobs, err)
	}
	if _, err := Scan(bytes.NewReader(p.data), func(Blob) error { t.Fatal("fn called"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestWriterErrors(t *testing.T) {
	master := testKey(5)
	w, err := NewWriter(master)
	if err != nil {
		t.Fatal(err)
	}
	plain := textBytes(1, 5000)
	id := master.BlobID(plain)
	if err := w.Add(DataBlob, id, plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(DataBlob, id, plain); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate Add: %v, want ErrDuplicate", err)
	}
	if err := w.Add(BlobType(3), crypto.ID{1}, plain); err == nil {
		t.Fatal("Add of unknown type succeeded")
	}
	if err := w.AddPayload(DataBlob, crypto.ID{2}, []byte("abc"), false, 4); err == nil {
		t.Fatal("AddPayload with a wrong raw length succeeded")
	}
	payload, ok := Compress(nil, textBytes(2, 5000))
	if !ok {
		t.Fatal("not compressed")
	}
	if err := w.AddPayload(DataBlob, crypto.ID{3}, payload, true, 4999); err == nil {
		t.Fatal("AddPayload of a compressed payload with a wrong raw length succeeded")
	}
	if err := w.AddPayload(DataBlob, crypto.ID{4}, []byte("not zstd"), true, 8); err == nil {
		t.Fatal("AddPayload of a non-zstd payload flagged compressed succeeded")
	}
	if err := w.AddPayload(DataBlob, crypto.ID{5}, nil, false, -1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("negative raw length: %v", err)
	}
	if w.Count() != 1 || w.Size() != HeaderSize+BlobOverhead+int(w.blobs[0].entry.Length-BlobOverhead) {
		t.Fatalf("rejected blobs changed the writer: count %d size %d", w.Count(), w.Size())
	}
	if _, _, _, _, err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(DataBlob, crypto.ID{6}, plain); err == nil {
		t.Fatal("Add after Finalize succeeded")
	}
	if _, _, _, _, err := w.Finalize(); err == nil {
		t.Fatal("second Finalize succeeded")
	}
	if _, err := NewWriter(nil); err == nil {
		t.Fatal("NewWriter(nil) succeeded")
	}
}

func TestAddPayload(t *testing.T) {
	// The pipeline's path: compress elsewhere, then AddPayload.
	master := testKey(6)
	w, err := NewWriter(master)
	if err != nil {
		t.Fatal(err)
	}
	text, random := textBytes(4, 100<<10), randomBytes(4, 100<<10)
	for _, plain := range [][]byte{text, random} {
		payload, ok := Compress(nil, plain)
		if err := w.AddPayload(DataBlob, master.BlobID(plain), payload, ok, len(plain)); err != nil {
			t.Fatal(err)
		}
	}
	data, _, salt, blobs, err := w.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		got, err := DecodeBlob(master, KeyFor(master, salt), data[b.Offset:b.Offset+b.Length], b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if master.BlobID(got) != b.ID {
			t.Fatal("wrong plaintext")
		}
	}
}

func TestBlobTypeString(t *testing.T) {
	for typ, want := range map[BlobType]string{DataBlob: "data", TreeBlob: "tree", 0: "invalid", 9: "invalid"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

// TestWriterBufferReuse: a writer sealing into a given buffer (too small,
// so it grows) and then into the arena of its finalized predecessor gives
// valid packs, whose bytes do not share the arena.
func TestWriterBufferReuse(t *testing.T) {
	master := testKey(3)
	w, err := NewWriterBuffer(master, make([]byte, 7, 64))
	if err != nil {
		t.Fatal(err)
	}
	if w.Buffer() != nil {
		t.Fatal("Buffer before Finalize is not nil")
	}
	for i := 0; i < 2; i++ {
		for _, s := range smallSpecs() {
			p := append(bytes.Clone(s.plain), byte(i), 'x')
			if err := w.Add(s.typ, master.BlobID(p), p); err != nil {
				t.Fatal(err)
			}
		}
		data, _, salt, blobs, err := w.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		buf := w.Buffer()
		if len(buf) != 0 || cap(buf) < len(data)-HeaderSize-tailSize-minTrailerSealed-entrySize*len(blobs) {
			t.Fatalf("Buffer: len %d cap %d after a pack of %d bytes", len(buf), cap(buf), len(data))
		}
		// Scribble over the arena: the pack must not change.
		buf = buf[:cap(buf)]
		for j := range buf {
			buf[j] = 0xAA
		}
		aead := KeyFor(master, salt)
		for _, b := range blobs {
			got, err := DecodeBlob(master, aead, data[b.Offset:b.Offset+b.Length], b, nil)
			if err != nil || master.BlobID(got) != b.ID {
				t.Fatalf("pack %d blob %s: %v", i, b.ID.Short(), err)
			}
		}
		if w, err = NewWriterBuffer(master, buf); err != nil {
			t.Fatal(err)
		}
	}
}
