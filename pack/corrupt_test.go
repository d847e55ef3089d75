package pack

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"cairn/internal/crypto"
)

// blobAt returns the blob whose bytes contain pos, if any.
func blobAt(blobs []Blob, pos int) (Blob, bool) {
	for _, b := range blobs {
		if pos >= int(b.Offset) && pos < int(b.Offset+b.Length) {
			return b, true
		}
	}
	return Blob{}, false
}

// TestBitFlips flips every bit of a small pack, one at a time. Whatever is
// flipped, no reader may return wrong data: List either fails or (for a
// flip inside a blob, which it does not read) returns the original list;
// DecodeBlob of the blob holding the flip fails, and of every other blob
// returns its plaintext; Scan fails or reports the original blobs.
func TestBitFlips(t *testing.T) {
	master := testKey(10)
	p := buildPack(t, master, smallSpecs())
	aead := KeyFor(master, p.salt)
	trailerStart := int(p.blobs[len(p.blobs)-1].Offset + p.blobs[len(p.blobs)-1].Length)
	data := slices.Clone(p.data)
	for pos := range data {
		for bit := range 8 {
			data[pos] ^= 1 << bit

			_, listed, err := List(master, bytes.NewReader(data), int64(len(data)))
			inBlobs := pos >= HeaderSize && pos < trailerStart
			switch {
			case err != nil && inBlobs:
				t.Fatalf("flip %d.%d inside a blob broke List: %v", pos, bit, err)
			case err == nil && !inBlobs:
				t.Fatalf("flip %d.%d in header or trailer: List succeeded", pos, bit)
			case err == nil && !slices.Equal(listed, p.blobs):
				t.Fatalf("flip %d.%d: List returned a different list", pos, bit)
			case err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, crypto.ErrAuth):
				t.Fatalf("flip %d.%d: List error wraps neither ErrFormat nor ErrAuth: %v", pos, bit, err)
			}

			hit, hitOK := blobAt(p.blobs, pos)
			for _, b := range p.blobs {
				got, err := DecodeBlob(master, aead, data[b.Offset:b.Offset+b.Length], b, nil)
				if hitOK && b == hit {
					if err == nil {
						t.Fatalf("flip %d.%d inside blob %s: DecodeBlob succeeded", pos, bit, b.ID.Short())
					}
					if !errors.Is(err, ErrFormat) && !errors.Is(err, crypto.ErrAuth) {
						t.Fatalf("flip %d.%d: DecodeBlob error wraps neither ErrFormat nor ErrAuth: %v", pos, bit, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, p.plain[b.ID]) {
					t.Fatalf("flip %d.%d outside blob %s: DecodeBlob = %v", pos, bit, b.ID.Short(), err)
				}
			}

			var scanned []Blob
			_, err = Scan(bytes.NewReader(data), func(b Blob) error { scanned = append(scanned, b); return nil })
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("flip %d.%d: Scan error does not wrap ErrFormat: %v", pos, bit, err)
			}
			if err == nil && !slices.Equal(scanned, p.blobs) {
				t.Fatalf("flip %d.%d: Scan succeeded with different blobs", pos, bit)
			}
			if err != nil && !slices.Equal(scanned, p.blobs[:len(scanned)]) {
				t.Fatalf("flip %d.%d: Scan reported blobs that are not a prefix of the pack's", pos, bit)
			}
			// The salt has no checksum of its own (the pack id covers the
			// file): Scan reports it as found, and the blobs then fail to
			// open with ErrAuth rather than give wrong data.
			if isBlobHeader := hitOK && pos < int(hit.Offset)+BlobHeaderSize; (isBlobHeader || pos < len(packMagic) || pos >= len(data)-tailSize) && err == nil {
				t.Fatalf("flip %d.%d in a header or the tail: Scan succeeded", pos, bit)
			}

			data[pos] ^= 1 << bit
		}
	}
}

func TestTruncation(t *testing.T) {
	master := testKey(11)
	p := buildPack(t, master, smallSpecs())
	for n := range len(p.data) {
		cut := p.data[:n]
		_, _, err := List(master, bytes.NewReader(cut), int64(n))
		if err == nil || !errors.Is(err, ErrFormat) && !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("List of %d of %d bytes: %v", n, len(p.data), err)
		}
		var scanned []Blob
		_, err = Scan(bytes.NewReader(cut), func(b Blob) error { scanned = append(scanned, b); return nil })
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("Scan of %d of %d bytes: %v", n, len(p.data), err)
		}
		// Every blob that lies wholly within the cut is reported, and no other.
		var intact []Blob
		for _, b := range p.blobs {
			if int(b.Offset+b.Length) <= n {
				intact = append(intact, b)
			}
		}
		if !slices.Equal(scanned, intact) {
			t.Fatalf("Scan of %d bytes reported %d blobs, want the %d intact ones", n, len(scanned), len(intact))
		}
	}
	// List must not trust its size argument over the reader.
	if _, _, err := List(master, bytes.NewReader(p.data[:len(p.data)-1]), int64(len(p.data))); !errors.Is(err, ErrFormat) {
		t.Fatalf("List with a size beyond the data: %v", err)
	}
	for _, b := range p.blobs {
		raw := p.data[b.Offset : b.Offset+b.Length-1]
		if _, err := DecodeBlob(master, KeyFor(master, p.salt), raw, b, nil); !errors.Is(err, ErrFormat) {
			t.Fatalf("DecodeBlob of a truncated blob: %v", err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	master := testKey(12)
	p := buildPack(t, master, smallSpecs())
	other := testKey(13)
	if _, _, err := List(other, bytes.NewReader(p.data), int64(len(p.data))); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("List with another key: %v, want ErrAuth", err)
	}
	b := p.blobs[0]
	raw := p.data[b.Offset : b.Offset+b.Length]
	_, err := DecodeBlob(other, KeyFor(other, p.salt), raw, b, nil)
	if !errors.Is(err, crypto.ErrAuth) || !strings.Contains(err.Error(), b.ID.Short()) {
		t.Fatalf("DecodeBlob with another key: %v, want ErrAuth naming the blob", err)
	}
	// Another pack's key: a blob moved between packs does not open.
	var otherSalt Salt
	otherSalt[0] = 1
	if _, err := DecodeBlob(master, KeyFor(master, otherSalt), raw, b, nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("DecodeBlob with another pack's key: %v, want ErrAuth", err)
	}
	// Same encryption key, other id key: decrypts, but the id check fails.
	sameEnc := *other
	sameEnc.Enc = master.Enc
	if _, err := DecodeBlob(&sameEnc, KeyFor(master, p.salt), raw, b, nil); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("DecodeBlob with another id key: %v", err)
	}
}

// TestDecodeBlobWant checks that DecodeBlob refuses a blob that is intact
// but not the one the caller asked for, each with its own message.
func TestDecodeBlobWant(t *testing.T) {
	master := testKey(14)
	p := buildPack(t, master, smallSpecs())
	aead := KeyFor(master, p.salt)
	b := p.blobs[0]
	raw := p.data[b.Offset : b.Offset+b.Length]
	other := p.blobs[1]
	cases := []struct {
		name string
		raw  []byte
		want Blob
		msg  string
	}{
		{"type", raw, Blob{Type: 3 - b.Type, ID: b.ID, Length: b.Length, RawLength: b.RawLength}, "header says type"},
		{"id", raw, Blob{Type: b.Type, ID: crypto.ID{9}, Length: b.Length, RawLength: b.RawLength}, "header names blob"},
		{"raw length", raw, Blob{Type: b.Type, ID: b.ID, Length: b.Length, RawLength: b.RawLength + 1}, "raw length"},
		{"length", append(slices.Clone(raw), 0), Blob{Type: b.Type, ID: b.ID, Length: b.Length + 1, RawLength: b.RawLength}, "header says length"},
		{"other blob's bytes", p.data[other.Offset : other.Offset+other.Length], Blob{Type: other.Type, ID: b.ID, Length: other.Length, RawLength: other.RawLength}, "header names blob"},
		{"short", raw[:10], Blob{Type: b.Type, ID: b.ID, Length: 10, RawLength: b.RawLength}, "want 48"},
	}
	for _, c := range cases {
		_, err := DecodeBlob(master, aead, c.raw, c.want, nil)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want ErrFormat with %q", c.name, err, c.msg)
		}
	}
	if _, err := DecodeBlob(master, nil, raw, b, nil); err == nil {
		t.Error("nil AEAD accepted")
	}
}

// TestHeaderFieldsAuthenticated re-signs a blob header's CRC after changing
// a field, as an attacker without the key could: the AEAD, which takes the
// header as additional data, must still refuse it.
func TestHeaderFieldsAuthenticated(t *testing.T) {
	master := testKey(15)
	p := buildPack(t, master, []blobSpec{{DataBlob, textBytes(5, 3000)}})
	b := p.blobs[0]
	raw := slices.Clone(p.data[b.Offset : b.Offset+b.Length])
	h, err := parseBlobHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	h.typ = TreeBlob
	var hb [BlobHeaderSize]byte
	h.marshal(&hb)
	copy(raw, hb[:])
	want := b
	want.Type = TreeBlob
	if _, err := DecodeBlob(master, KeyFor(master, p.salt), raw, want, nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("re-typed blob: %v, want ErrAuth", err)
	}
}

func TestReadHeader(t *testing.T) {
	if _, err := ReadHeader([]byte("CAIRNPK1short")); !errors.Is(err, ErrFormat) {
		t.Fatalf("short header: %v", err)
	}
	if _, err := ReadHeader(make([]byte, HeaderSize)); !errors.Is(err, ErrFormat) {
		t.Fatalf("zero header: %v", err)
	}
}
