// Package tree defines the repository's directory nodes: what a snapshot
// records about every file, directory, link, device, stream or disk, and how
// a tree blob is encoded. It knows nothing of storage.
package tree

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"cairn/internal/crypto"
)

// Node types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeDev     = "dev"     // block device
	TypeCharDev = "chardev" // character device
	TypeFifo    = "fifo"
	TypeSocket  = "socket"
)

// Xattr is one extended attribute.
type Xattr struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// Chunk is one piece of a file's content in order: a data blob, or a hole
// (null ID) of Size zero bytes that is never stored and restores sparsely.
type Chunk struct {
	ID   crypto.ID `json:"id,omitzero"` // omitted for holes
	Size uint64    `json:"size"`
}

// IsHole reports whether the chunk is a hole.
func (c Chunk) IsHole() bool { return c.ID.IsNull() }

// Node is one entry of a directory.
type Node struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Mode       uint32     `json:"mode"` // permission and special bits (os.FileMode.Perm|setuid|setgid|sticky as unix bits)
	UID        uint32     `json:"uid"`
	GID        uint32     `json:"gid"`
	User       string     `json:"user,omitempty"`
	Group      string     `json:"group,omitempty"`
	ModTime    time.Time  `json:"mtime"`
	ChangeTime time.Time  `json:"ctime"`
	AccessTime time.Time  `json:"atime,omitempty"`
	Size       uint64     `json:"size,omitempty"`
	Inode      uint64     `json:"inode,omitempty"`
	DeviceID   uint64     `json:"device_id,omitempty"` // st_dev of the file system the node was on
	Links      uint64     `json:"links,omitempty"`
	Rdev       uint64     `json:"rdev,omitempty"` // device number for dev/chardev
	LinkTarget string     `json:"linktarget,omitempty"`
	Xattrs     []Xattr    `json:"xattrs,omitempty"`
	Content    []Chunk    `json:"content,omitempty"`
	Subtree    *crypto.ID `json:"subtree,omitempty"`
	// Error records why the node could not be read completely (partial snapshot).
	Error string `json:"error,omitempty"`

	// NameRaw and LinkTargetRaw carry names that are not valid UTF-8:
	// JSON strings cannot hold arbitrary bytes (Go's encoder replaces them
	// by U+FFFD), so Encode stores such a name as raw bytes here beside a
	// readable, lossy Name, and Decode restores it. Callers never set them.
	NameRaw       []byte `json:"name_raw,omitempty"`
	LinkTargetRaw []byte `json:"linktarget_raw,omitempty"`
}

// Tree is one directory's entries, sorted by name.
type Tree struct {
	Nodes []*Node `json:"nodes"`
}

// Sort orders the nodes by name, as Encode requires.
func (t *Tree) Sort() {
	sort.Slice(t.Nodes, func(i, j int) bool { return t.Nodes[i].Name < t.Nodes[j].Name })
}

// Find returns the node named name, or nil.
func (t *Tree) Find(name string) *Node {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return t.Nodes[i]
	}
	return nil
}

// Encode returns the tree blob's plaintext: JSON with nodes sorted by name,
// so that equal directories give equal blobs and deduplicate.
func (t *Tree) Encode() ([]byte, error) {
	t.Sort()
	for i := 1; i < len(t.Nodes); i++ {
		if t.Nodes[i].Name == t.Nodes[i-1].Name {
			return nil, fmt.Errorf("encode tree: duplicate name %q", t.Nodes[i].Name)
		}
	}
	enc := t
	for i, n := range t.Nodes {
		if utf8.ValidString(n.Name) && utf8.ValidString(n.LinkTarget) {
			continue
		}
		if enc == t { // copy on the first name to rewrite: t stays as given
			enc = &Tree{Nodes: append([]*Node(nil), t.Nodes...)}
		}
		c := *n
		if !utf8.ValidString(n.Name) {
			c.NameRaw, c.Name = []byte(n.Name), strings.ToValidUTF8(n.Name, "\uFFFD")
		}
		if !utf8.ValidString(n.LinkTarget) {
			c.LinkTargetRaw, c.LinkTarget = []byte(n.LinkTarget), strings.ToValidUTF8(n.LinkTarget, "\uFFFD")
		}
		enc.Nodes[i] = &c
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a tree blob, rejecting structurally invalid trees (names
// that would escape their directory, unsorted or duplicate names, a
// directory without subtree) so that restore never trusts them.
func Decode(data []byte) (*Tree, error) {
	t, ok := decodeFast(data)
	if !ok {
		t = Tree{}
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("decode tree: %w", err)
		}
	}
	for i, n := range t.Nodes {
		if n == nil {
			return nil, fmt.Errorf("decode tree: null node at %d", i)
		}
		if n.NameRaw != nil {
			n.Name, n.NameRaw = string(n.NameRaw), nil
		}
		if n.LinkTargetRaw != nil {
			n.LinkTarget, n.LinkTargetRaw = string(n.LinkTargetRaw), nil
		}
		if err := ValidName(n.Name); err != nil {
			return nil, fmt.Errorf("decode tree: %w", err)
		}
		if i > 0 && t.Nodes[i-1].Name >= n.Name {
			return nil, fmt.Errorf("decode tree: names not sorted or duplicated at %q", n.Name)
		}
		switch n.Type {
		case TypeDir:
			if n.Subtree == nil {
				return nil, fmt.Errorf("decode tree: directory %q has no subtree", n.Name)
			}
		case TypeFile, TypeSymlink, TypeDev, TypeCharDev, TypeFifo, TypeSocket:
		default:
			return nil, fmt.Errorf("decode tree: node %q has unknown type %q", n.Name, n.Type)
		}
	}
	return &t, nil
}

// ValidName rejects names that are empty, "." or "..", or contain '/' or NUL.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid node name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("invalid node name %q", name)
		}
	}
	return nil
}

// ContentSize returns the sum of the chunk sizes.
func (n *Node) ContentSize() uint64 {
	var s uint64
	for _, c := range n.Content {
		s += c.Size
	}
	return s
}
