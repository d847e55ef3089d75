package pack

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The seed corpus in testdata/fuzz/ holds real packs written with
// testKey(fuzzKeySeed), so that the fuzzer starts from inputs that reach
// the AEAD and decompression. Regenerate it with
// CAIRN_PACK_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds ./pack/
const fuzzKeySeed = 42

func FuzzList(f *testing.F) {
	master := testKey(fuzzKeySeed)
	f.Fuzz(func(t *testing.T, data []byte) {
		salt, blobs, err := List(master, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		aead := KeyFor(master, salt)
		end := uint64(HeaderSize)
		for _, b := range blobs {
			if uint64(b.Offset) != end {
				t.Fatalf("blob %s at %d, want %d", b.ID.Short(), b.Offset, end)
			}
			end += uint64(b.Length)
			if end > uint64(len(data)) {
				t.Fatalf("blob %s beyond the pack", b.ID.Short())
			}
			plain, err := DecodeBlob(master, aead, data[b.Offset:end], b, nil)
			if err == nil && (master.BlobID(plain) != b.ID || len(plain) != int(b.RawLength)) {
				t.Fatalf("blob %s decoded to wrong data", b.ID.Short())
			}
		}
	})
}

func FuzzScan(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		end := uint64(HeaderSize)
		_, _ = Scan(bytes.NewReader(data), func(b Blob) error {
			if uint64(b.Offset) != end {
				t.Fatalf("blob %s at %d, want %d", b.ID.Short(), b.Offset, end)
			}
			end += uint64(b.Length)
			if end > uint64(len(data)) {
				t.Fatalf("blob %s beyond the input", b.ID.Short())
			}
			if _, err := parseBlobHeader(data[b.Offset:]); err != nil {
				t.Fatalf("reported blob %s has a bad header: %v", b.ID.Short(), err)
			}
			return nil
		})
	})
}

// FuzzDecodeBlob decodes raw as the blob its own header names (so that the
// fuzzer gets past the field checks), of type typ and raw length rawLen, in
// the pack with the given salt.
func FuzzDecodeBlob(f *testing.F) {
	master := testKey(fuzzKeySeed)
	f.Fuzz(func(t *testing.T, salt []byte, raw []byte, typ uint8, rawLen uint32) {
		var s Salt
		copy(s[:], salt)
		want := Blob{Type: BlobType(typ), Length: uint32(len(raw)), RawLength: rawLen}
		if len(raw) >= 36 {
			copy(want.ID[:], raw[4:36])
		}
		prefix := []byte("dst")
		plain, err := DecodeBlob(master, KeyFor(master, s), raw, want, prefix)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(plain, prefix) || len(plain)-len(prefix) != int(rawLen) || master.BlobID(plain[len(prefix):]) != want.ID {
			t.Fatal("DecodeBlob succeeded with wrong data")
		}
	})
}

// seedPacks are the packs the seed corpus is made of.
func seedPacks(t testing.TB) map[string]*testPack {
	master := testKey(fuzzKeySeed)
	return map[string]*testPack{
		"pack-mixed": buildPack(t, master, []blobSpec{
			{DataBlob, textBytes(1, 400)},
			{DataBlob, randomBytes(1, 64)},
			{DataBlob, nil},
			{DataBlob, textBytes(2, 2000)},
		}),
		"pack-tree":  buildPack(t, master, []blobSpec{{TreeBlob, []byte(`{"nodes":[{"name":"etc","type":"dir","mode":2147484141}]}`)}}),
		"pack-empty": buildPack(t, master, nil),
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CAIRN_PACK_WRITE_SEEDS") == "" {
		t.Skip("set CAIRN_PACK_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	write := func(target, name string, args ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case byte:
				fmt.Fprintf(&b, "byte(%q)\n", v)
			case uint32:
				fmt.Fprintf(&b, "uint32(%d)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, p := range seedPacks(t) {
		for _, target := range []string{"FuzzList", "FuzzScan"} {
			write(target, name, p.data)
		}
		if len(p.data) > 100 {
			write("FuzzScan", name+"-truncated", p.data[:len(p.data)-30])
			write("FuzzList", name+"-truncated", p.data[:len(p.data)-30])
		}
		for i, b := range p.blobs {
			write("FuzzDecodeBlob", fmt.Sprintf("%s-blob%d", name, i), p.salt[:], p.data[b.Offset:b.Offset+b.Length], byte(b.Type), b.RawLength)
		}
	}
	write("FuzzList", "garbage", []byte("CAIRNPK1 and then nothing that makes sense CPKT"))
	write("FuzzScan", "garbage", []byte("CAIRNPK1 and then nothing that makes sense CPKT"))
}

// TestFuzzSeedsAreRealPacks keeps the seed corpus meaningful: if the
// format or the key derivation changes, the seeds no longer open, and this
// test says to regenerate them.
func TestFuzzSeedsAreRealPacks(t *testing.T) {
	master := testKey(fuzzKeySeed)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzList", "pack-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed packs (%v): run TestWriteFuzzSeeds", err)
	}
	for _, file := range files {
		data := readSeed(t, file)
		_, blobs, err := List(master, bytes.NewReader(data), int64(len(data)))
		if strings.HasSuffix(file, "-truncated") {
			if err == nil {
				t.Errorf("%s: truncated seed lists", file)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v (regenerate the seeds)", file, err)
		}
		salt, _ := ReadHeader(data)
		for _, b := range blobs {
			if _, err := DecodeBlob(master, KeyFor(master, salt), data[b.Offset:b.Offset+b.Length], b, nil); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
	blobSeeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeBlob", "*"))
	if len(blobSeeds) == 0 {
		t.Error("no FuzzDecodeBlob seeds")
	}
}

// readSeed returns the []byte argument of a one-argument corpus file.
func readSeed(t *testing.T, file string) []byte {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a one-[]byte corpus file", file)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(s)
}
