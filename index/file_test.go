package index

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"cairn/internal/crypto"
	"cairn/pack"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	aead := testAEAD(t)
	rng := newRand(1)
	cases := map[string]*File{
		"empty":      {},
		"supersedes": {Supersedes: []crypto.ID{randID(rng), randID(rng)}},
		"emptyPack":  {Packs: []PackInfo{{ID: randID(rng), Size: 24}}},
		"many":       randFile(rng, 50, 17),
	}
	big := randFile(rng, 3, 2)
	big.Packs[0].Size = 1 << 40
	big.Packs[0].Blobs[1].Offset = 1<<32 - 2
	big.Packs[0].Blobs[1].Length = 1
	big.Packs[0].Blobs[1].RawLength = 1<<32 - 1
	big.Supersedes = []crypto.ID{randID(rng)}
	cases["extremes"] = big
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			sealed, err := f.Encode(aead)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(aead, sealed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", got, f)
			}
		})
	}
}

func TestDecodeWrongKeyOrDamage(t *testing.T) {
	t.Parallel()
	aead := testAEAD(t)
	sealed, err := randFile(newRand(2), 2, 3).Encode(aead)
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(other.FileAEAD(), sealed); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("wrong key: got %v, want ErrAuth", err)
	}
	for _, pos := range []int{0, len(sealed) / 2, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[pos] ^= 1
		if _, err := Decode(aead, bad); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("flipped byte %d: got %v, want ErrAuth", pos, err)
		}
	}
	for _, n := range []int{0, 5, len(sealed) - 1} {
		if _, err := Decode(aead, sealed[:n]); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("truncated to %d: got %v, want ErrAuth", n, err)
		}
	}
	// Sealed with the same key for another purpose: the additional data
	// must keep it from being read as an index file.
	plain, err := randFile(newRand(2), 1, 1).appendPlain(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(aead, aead.Seal(nil, plain, []byte("cairn snapshot v1"))); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("other additional data: got %v, want ErrAuth", err)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	t.Parallel()
	rng := newRand(3)
	mk := func(mut func(f *File)) *File {
		f := randFile(rng, 2, 2)
		mut(f)
		return f
	}
	cases := map[string]*File{
		"dupPack":      mk(func(f *File) { f.Packs[1].ID = f.Packs[0].ID }),
		"badType":      mk(func(f *File) { f.Packs[0].Blobs[0].Type = 0 }),
		"badType3":     mk(func(f *File) { f.Packs[1].Blobs[1].Type = 3 }),
		"negSize":      mk(func(f *File) { f.Packs[0].Size = -1 }),
		"beyondPack":   mk(func(f *File) { f.Packs[0].Blobs[1].Length = uint32(f.Packs[0].Size) }),
		"offsetBeyond": mk(func(f *File) { f.Packs[0].Size = int64(f.Packs[0].Blobs[1].Offset) }),
	}
	for name, f := range cases {
		if _, err := f.Encode(testAEAD(t)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// TestPlainLayout pins the byte layout of docs/format-index.md, so a
// change to the encoder cannot silently change the format.
func TestPlainLayout(t *testing.T) {
	t.Parallel()
	var pid, bid, sup crypto.ID
	var salt pack.Salt
	for i := range pid {
		pid[i], bid[i], sup[i] = 0xA0, 0xB0, 0xC0
	}
	for i := range salt {
		salt[i] = 0x55
	}
	f := &File{
		Packs: []PackInfo{{ID: pid, Salt: salt, Size: 300, Blobs: []pack.Blob{
			{Type: pack.TreeBlob, ID: bid, Offset: 24, Length: 200, RawLength: 1},
		}}},
		Supersedes: []crypto.ID{sup},
	}
	got, err := f.appendPlain(nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 1, 1)
	want = append(want, pid[:]...)
	want = append(want, salt[:]...)
	want = append(want, 0xAC, 0x02, 1) // size 300, one blob
	want = append(want, 2)
	want = append(want, bid[:]...)
	want = append(want, 24, 0xC8, 0x01, 1) // offset, length 200, raw length
	want = append(want, 1)
	want = append(want, sup[:]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("layout:\n got %x\nwant %x", got, want)
	}
}

func TestDecodePlainRejects(t *testing.T) {
	t.Parallel()
	good, err := randFile(newRand(4), 2, 2).appendPlain(nil)
	if err != nil {
		t.Fatal(err)
	}
	idLen := crypto.IDSize
	// Offsets into good: version at 0, pack count at 1, pack 0 id at 2,
	// salt, size varint at 2+32+16.
	sizeAt := 2 + idLen + pack.SaltSize
	cases := map[string][]byte{
		"empty":       {},
		"version0":    append([]byte{0}, good[1:]...),
		"version2":    append([]byte{2}, good[1:]...),
		"trailing":    append(bytes.Clone(good), 0),
		"truncated":   good[:len(good)-1],
		"hugePacks":   {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"overflow":    {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"nonMinimal":  {1, 0x80, 0x00, 0},
		"noSupCount":  {1, 0},
		"supMismatch": append([]byte{1, 0, 2}, make([]byte, idLen)...),
		"hugeSize": func() []byte {
			b := append([]byte{1, 1}, make([]byte, idLen+pack.SaltSize)...)
			b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) // 2^64-1
			return append(b, 0, 0)
		}(),
	}
	// A blob type of 0 in the first blob: it follows size and count.
	bad := bytes.Clone(good)
	n := sizeAt
	for bad[n]&0x80 != 0 {
		n++
	}
	n += 2 // last size byte, blob count (one byte)
	bad[n] = 0
	cases["blobType0"] = bad
	// The same pack twice.
	dup := &File{Packs: []PackInfo{{Size: 24}, {Size: 24}}}
	dupPlain := []byte{1, 2}
	for range dup.Packs {
		dupPlain = append(dupPlain, make([]byte, idLen+pack.SaltSize)...)
		dupPlain = append(dupPlain, 24, 0)
	}
	cases["dupPack"] = append(dupPlain, 0)
	for name, b := range cases {
		if f, err := decodePlain(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %+v, %v; want ErrFormat", name, f, err)
		}
	}
}
