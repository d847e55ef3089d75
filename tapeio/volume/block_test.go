package volume

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func sealed(payload []byte) []byte {
	b := make([]byte, MinBlockSize)
	copy(b[HeaderSize:], payload)
	seal(b, header{kind: KindPack, flags: FlagFirst, volumeID: ID{1, 2, 3}, volumeSeq: 7, tapeFile: 3, block: 99,
		setFile: 12, payloadLen: uint32(len(payload)), dataOffset: 1 << 40})
	return b
}

func TestSealUnseal(t *testing.T) {
	payload := randomBytes(5, 300)
	b := sealed(payload)
	h, p, err := unseal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := header{kind: KindPack, flags: FlagFirst, volumeID: ID{1, 2, 3}, volumeSeq: 7, tapeFile: 3, block: 99,
		setFile: 12, payloadLen: 300, dataOffset: 1 << 40}
	if h != want || !bytes.Equal(p, payload) {
		t.Fatalf("unseal = %+v, want %+v", h, want)
	}
	if string(b[:4]) != "CRNB" || b[4] != 1 || b[5] != byte(KindPack) {
		t.Fatalf("header bytes % x", b[:8])
	}
}

// Every single-bit error in the header or payload must be caught.
func TestEverySingleBitFlipDetected(t *testing.T) {
	b := sealed(randomBytes(6, 100))
	for bit := 0; bit < (HeaderSize+100)*8; bit++ {
		c := bytes.Clone(b)
		c[bit/8] ^= 1 << (bit % 8)
		if _, _, err := unseal(c); !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrBadBlock) {
			t.Fatalf("flip of bit %d not detected: %v", bit, err)
		}
	}
}

func TestUnsealGarbageNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	good := sealed([]byte("hello"))
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, r.IntN(200))
			for k := range b {
				b[k] = byte(r.Uint32())
			}
		} else {
			b = bytes.Clone(good[:r.IntN(len(good))])
			if len(b) > 0 {
				b[r.IntN(len(b))] = byte(r.Uint32())
			}
			if len(b) >= 48 {
				copy(b[44:48], []byte{0xff, 0xff, 0xff, 0x7f}) // absurd payload length
			}
		}
		unseal(b)
		parseDescriptor(b)
		decodeLabel(b)
		decodeEndOfVolume(b)
		decodeEndOfSet(b)
	}
}

func FuzzUnseal(f *testing.F) {
	f.Add(sealed([]byte("seed")))
	f.Add([]byte("CRNB\x01"))
	f.Add(Label{BlockSize: 4096, Seq: 1, Host: "h"}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, p, err := unseal(b); err == nil {
			if int(h.payloadLen) != len(p) || len(p) > len(b)-HeaderSize {
				t.Fatalf("payload %d bytes, header says %d", len(p), h.payloadLen)
			}
		}
		parseDescriptor(b)
		decodeLabel(b)
	})
}

func TestLabelRoundTrip(t *testing.T) {
	l := Label{BlockSize: 256 << 10, VolumeID: NewID(), SetID: NewID(), Seq: 3,
		Created: time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC), Host: "backup1", Writer: "cairn"}
	got, err := decodeLabel(l.encode())
	if err != nil || got != l {
		t.Fatalf("decodeLabel = %+v, %v; want %+v", got, err, l)
	}
	l.BlockSize = 1000
	if _, err := decodeLabel(l.encode()); !errors.Is(err, ErrNotLabeled) {
		t.Fatalf("label with block size 1000: %v", err)
	}
}

func TestDescriptor(t *testing.T) {
	b := make([]byte, 100)
	n := putDescriptor(b, "data/ab/cdef")
	name, data, err := parseDescriptor(b[:n+5])
	if err != nil || name != "data/ab/cdef" || len(data) != 5 || n != descriptorLen("data/ab/cdef") {
		t.Fatalf("descriptor = %q, %d data bytes, %v", name, len(data), err)
	}
}
