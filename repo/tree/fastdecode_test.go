package tree

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"cairn/internal/crypto"
)

// richTree returns a tree using every node field, names with escapes,
// non-ASCII and invalid UTF-8, times in several zones, empty and null
// slices, and large numbers.
func richTree(seed uint64, n int) *Tree {
	rng := rand.New(rand.NewPCG(seed, 1))
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+1800), time.FixedZone("y", -7*3600)}
	var nodes []*Node
	for i := range n {
		nd := &Node{
			Name: fmt.Sprintf("f%05d-%s", i, []string{"plain", "quote\"back\\slash", "tab\there", "é-ü", "bad\xff\xfe", "<html>&", "\u2028"}[rng.IntN(7)]),
			Type: []string{TypeFile, TypeDir, TypeSymlink, TypeFifo, TypeDev}[rng.IntN(5)],
			Mode: rng.Uint32(), UID: rng.Uint32(), GID: rng.Uint32(),
			User: "u" + fmt.Sprint(rng.IntN(3)), Group: []string{"", "staff"}[rng.IntN(2)],
			ModTime:    time.Unix(rng.Int64N(1<<33), rng.Int64N(1e9)).In(zones[rng.IntN(3)]),
			ChangeTime: time.Unix(rng.Int64N(1<<33), 0).UTC(),
			Size:       rng.Uint64(), Inode: rng.Uint64(), DeviceID: rng.Uint64N(1 << 20), Links: uint64(rng.IntN(3)),
		}
		if rng.IntN(2) == 0 {
			nd.AccessTime = time.Unix(rng.Int64N(1<<33), rng.Int64N(1e9)).UTC()
		}
		switch nd.Type {
		case TypeDir:
			id := crypto.Hash([]byte(nd.Name))
			nd.Subtree = &id
		case TypeSymlink:
			nd.LinkTarget = []string{"../x", "a\"b", "bad\xc3"}[rng.IntN(3)]
		case TypeDev:
			nd.Rdev = rng.Uint64()
		case TypeFile:
			for range rng.IntN(4) {
				c := Chunk{Size: rng.Uint64N(8 << 20)}
				if rng.IntN(4) > 0 {
					c.ID = crypto.Hash([]byte(fmt.Sprint(rng.Uint64())))
				}
				nd.Content = append(nd.Content, c)
			}
		}
		if rng.IntN(5) == 0 {
			nd.Xattrs = []Xattr{{Name: "user.x", Value: []byte{0, 1, 2, 255}}, {Name: "security.selinux", Value: nil}, {Name: "e", Value: []byte{}}}
		}
		if rng.IntN(9) == 0 {
			nd.Error = "read: input/output error"
		}
		nodes = append(nodes, nd)
	}
	return &Tree{Nodes: nodes}
}

// jsonDecode is the reference: encoding/json alone.
func jsonDecode(data []byte) (Tree, error) {
	var t Tree
	err := json.Unmarshal(data, &t)
	return t, err
}

// TestDecodeFastMatchesJSON checks that the fast path takes what Encode
// writes (no fallback) and decodes it as encoding/json does.
func TestDecodeFastMatchesJSON(t *testing.T) {
	for seed := range uint64(20) {
		b, err := richTree(seed, 1+int(seed)*7).Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeFast(b)
		if !ok {
			t.Fatalf("seed %d: fast decoder declined Encode's output:\n%s", seed, b)
		}
		want, err := jsonDecode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: fast decode differs from encoding/json", seed)
		}
	}
	for _, in := range []string{`{"nodes":[]}`, `{"nodes":null}`, `{}`, ` { "nodes" : [ ] } ` + "\n",
		`{"nodes":[{"name":"a","content":[],"xattrs":[],"subtree":null,"name_raw":""}]}`,
		`{"nodes":[{"xattrs":[{"name":"x","value":null},{"value":"AAE="}],"content":[{"size":0},{}]}]}`,
		`{"nodes":[{"name":"a\u00e9\ud83d\ude00\/","size":18446744073709551615,"mode":4294967295}]}`} {
		got, ok := decodeFast([]byte(in))
		want, err := jsonDecode([]byte(in))
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: fast %+v ok=%v, json %+v err=%v", in, got, ok, want, err)
		}
	}
	// Shapes encoding/json reads differently or rejects must be declined.
	for _, in := range []string{
		`{"Nodes":[]}`, `{"nodes":[],"nodes":[]}`, `{"nodes":[{"name":"a","name":"b"}]}`,
		`{"nodes":[{"mode":-1}]}`, `{"nodes":[{"mode":4294967296}]}`, `{"nodes":[{"size":1.0}]}`,
		`{"nodes":[{"size":01}]}`, `{"nodes":[{"name":null}]}`, `{"nodes":[null]}`, `{"nodes":[]}x`,
		`{"nodes":[{"unknown":1}]}`, `{"nodes":[{"content":[{"id":"zz","size":1}]}]}`,
		`{"nodes":[{"name":"a` + "\x01" + `"}]}`,
	} {
		if _, ok := decodeFast([]byte(in)); ok {
			t.Errorf("%q: fast decoder accepted it", in)
		}
	}
}

// FuzzDecodeFast: whatever the fast decoder accepts, encoding/json must
// accept and decode to the same tree.
func FuzzDecodeFast(f *testing.F) {
	for seed := range uint64(4) {
		b, _ := richTree(seed, 3).Encode()
		f.Add(b)
	}
	f.Add([]byte(`{"nodes":[{"name":"a\u00e9\ud83d\ude00","size":18446744073709551615}]}`))
	f.Add([]byte(`{"nodes":[{"name":"a","content":[],"xattrs":[{"name":"x","value":null}],"subtree":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeFast(data)
		if !ok {
			return
		}
		want, err := jsonDecode(data)
		if err != nil {
			t.Fatalf("fast decoder accepted what encoding/json rejects (%v): %q", err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodes differ for %q:\nfast %#v\njson %#v", data, got, want)
		}
	})
}

func BenchmarkDecodeTree(b *testing.B) {
	data, err := richTree(1, 200).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jsonDecode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
