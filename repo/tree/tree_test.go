package tree

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"cairn/internal/crypto"
)

func sampleTree() *Tree {
	sub := crypto.Hash([]byte("sub"))
	return &Tree{Nodes: []*Node{
		{Name: "z-file", Type: TypeFile, Mode: 0o644, Size: 10, ModTime: time.Unix(1, 5).UTC(),
			Content: []Chunk{{ID: crypto.Hash([]byte("a")), Size: 4}, {Size: 6}}},
		{Name: "dir", Type: TypeDir, Mode: 0o755, Subtree: &sub},
		{Name: "link", Type: TypeSymlink, LinkTarget: "../x", Xattrs: []Xattr{{Name: "user.a", Value: []byte{0, 1}}}},
	}}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tr := sampleTree()
	b, err := tr.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Nodes[0].Name != "dir" {
		t.Fatalf("Encode did not sort")
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := got.Encode()
	if !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs:\n%s\n%s", b, b2)
	}
	f := got.Find("z-file")
	if f == nil || !f.Content[1].IsHole() || f.ContentSize() != 10 {
		t.Fatalf("hole lost: %+v", f)
	}
	if strings.Count(string(b), `"id"`) != 1 {
		t.Fatalf("a hole chunk should be stored without id: %s", b)
	}
}

func TestNonUTF8NamesSurvive(t *testing.T) {
	name, target := "latin1-\xe9\xff", "../\xfe"
	tr := &Tree{Nodes: []*Node{{Name: name, Type: TypeSymlink, LinkTarget: target}, {Name: "plain", Type: TypeFile}}}
	b, err := tr.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	n := got.Find(name)
	if n == nil || n.LinkTarget != target {
		t.Fatalf("non-UTF-8 name or target lost: %q", b)
	}
	if got.Find("plain") == nil || strings.Contains(string(b), `"name_raw":null`) {
		t.Fatalf("plain node encoded oddly: %s", b)
	}
}

func TestDecodeRejectsUnsafeTrees(t *testing.T) {
	for name, js := range map[string]string{
		"dotdot":    `{"nodes":[{"name":"..","type":"file"}]}`,
		"slash":     `{"nodes":[{"name":"a/b","type":"file"}]}`,
		"unsorted":  `{"nodes":[{"name":"b","type":"file"},{"name":"a","type":"file"}]}`,
		"duplicate": `{"nodes":[{"name":"a","type":"file"},{"name":"a","type":"file"}]}`,
		"nodir":     `{"nodes":[{"name":"a","type":"dir"}]}`,
		"type":      `{"nodes":[{"name":"a","type":"weird"}]}`,
		"null":      `{"nodes":[null]}`,
		"garbage":   `{"nodes":`,
	} {
		if _, err := Decode([]byte(js)); err == nil {
			t.Errorf("%s: Decode accepted %s", name, js)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := sampleTree().Encode()
	f.Add(b)
	f.Add([]byte(`{"nodes":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same tree.
		b, err := tr.Encode()
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("re-encoded tree does not decode: %v", err)
		}
	})
}
