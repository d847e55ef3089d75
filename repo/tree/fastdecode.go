package tree

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"cairn/internal/crypto"
)

// decodeFast parses tree JSON of the shape Encode writes, without
// encoding/json's reflection and its separate validation pass: loading the
// parent's trees was the largest cost of an unchanged backup and of the
// snapshot walk of check (docs/performance.md). It handles any key order,
// whitespace, escapes and invalid UTF-8 in strings (through encoding/json
// for those strings), and declines (ok=false) anything else — unknown or
// differently cased keys, nulls where Encode writes none, numbers that are
// not plain digits — for the caller to decode with encoding/json. What it
// accepts it decodes exactly as encoding/json does (FuzzDecodeFast).
func decodeFast(data []byte) (t Tree, ok bool) {
	s := scanner{b: data}
	if !s.lit('{') {
		return t, false
	}
	if !s.lit('}') {
		key, ok := s.key()
		if !ok || string(key) != "nodes" {
			return t, false
		}
		if !s.null() {
			if t.Nodes, ok = s.nodes(); !ok {
				return t, false
			}
		}
		if !s.lit('}') {
			return t, false // more keys: a repeated "nodes" or unknown
		}
	}
	s.ws()
	return t, s.i == len(s.b)
}

// scanner reads JSON tokens from b at i.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// lit consumes c after optional whitespace.
func (s *scanner) lit(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// null consumes a null literal.
func (s *scanner) null() bool {
	s.ws()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// litKind says what a string literal holds, as far as decoding goes.
type litKind uint8

const (
	litPlain   litKind = iota // printable ASCII: the content as is
	litHigh                   // also bytes >= 0x80: as is if valid UTF-8
	litEscaped                // escapes or control bytes: encoding/json's rules
)

// literal returns the next string literal, quotes included, and its kind.
func (s *scanner) literal() (lit []byte, kind litKind, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, 0, false
	}
	start := s.i
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:s.i], kind, true
		case c == '\\':
			kind = litEscaped
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			kind = litEscaped
		case c >= 0x80:
			kind = max(kind, litHigh)
		}
	}
	return nil, 0, false
}

// key reads an object key and the colon after it. Keys are compared
// exactly: encoding/json would also match other cases, so those decline.
func (s *scanner) key() ([]byte, bool) {
	lit, kind, ok := s.literal()
	if !ok || kind != litPlain || !s.lit(':') {
		return nil, false
	}
	return lit[1 : len(lit)-1], true
}

// str reads a string value.
func (s *scanner) str() (string, bool) {
	lit, kind, ok := s.literal()
	if !ok {
		return "", false
	}
	if kind == litPlain || kind == litHigh && utf8.Valid(lit) {
		return string(lit[1 : len(lit)-1]), true
	}
	// Escapes, control bytes or invalid UTF-8: encoding/json's own rules
	// (it replaces invalid UTF-8 with U+FFFD).
	var v string
	if err := json.Unmarshal(lit, &v); err != nil {
		return "", false
	}
	return v, true
}

// bytes reads a base64 string as encoding/json decodes []byte (a null
// leaves nil).
func (s *scanner) bytes() ([]byte, bool) {
	if s.null() {
		return nil, true
	}
	lit, kind, ok := s.literal()
	if !ok || kind != litPlain {
		return nil, false
	}
	src := lit[1 : len(lit)-1]
	b := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(b, src)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// uint reads an unsigned integer of at most bits bits written as plain
// digits (no sign, fraction, exponent or leading zero).
func (s *scanner) uint(bits uint) (uint64, bool) {
	s.ws()
	start := s.i
	var v uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		d := uint64(s.b[s.i] - '0')
		if v > (1<<bits-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
		s.i++
	}
	n := s.i - start
	if n == 0 || (n > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return v, true
}

// time reads a time as time.Time's UnmarshalJSON does.
func (s *scanner) time() (time.Time, bool) {
	var t time.Time
	lit, _, ok := s.literal()
	if !ok || t.UnmarshalJSON(lit) != nil {
		return t, false
	}
	return t, true
}

// id reads an id as crypto.ID's UnmarshalJSON does.
func (s *scanner) id() (crypto.ID, bool) {
	var id crypto.ID
	lit, _, ok := s.literal()
	if !ok || id.UnmarshalJSON(lit) != nil {
		return id, false
	}
	return id, true
}

// array calls elem for each element of an array; empty arrays are
// reported by n == 0 (encoding/json then stores an empty, non-nil slice).
func (s *scanner) array(elem func() bool) (n int, ok bool) {
	if !s.lit('[') {
		return 0, false
	}
	if s.lit(']') {
		return 0, true
	}
	for {
		if !elem() {
			return 0, false
		}
		n++
		if s.lit(']') {
			return n, true
		}
		if !s.lit(',') {
			return 0, false
		}
	}
}

// object calls field for each key of an object.
func (s *scanner) object(field func(key []byte) bool) bool {
	if !s.lit('{') {
		return false
	}
	if s.lit('}') {
		return true
	}
	for {
		key, ok := s.key()
		if !ok || !field(key) {
			return false
		}
		if s.lit('}') {
			return true
		}
		if !s.lit(',') {
			return false
		}
	}
}

// nodes reads the node array into one backing array.
func (s *scanner) nodes() ([]*Node, bool) {
	var all []Node
	n, ok := s.array(func() bool {
		all = append(all, Node{})
		return s.node(&all[len(all)-1])
	})
	if !ok {
		return nil, false
	}
	out := make([]*Node, n)
	for i := range out {
		out[i] = &all[i]
	}
	return out, true
}

// nodeField reads one key of a node object into n.
type nodeField struct {
	key  string
	read func(s *scanner, n *Node) bool
}

// nodeFields are a node object's keys, in the order Encode writes them
// (Node's field order).
var nodeFields = [...]nodeField{
	{"name", func(s *scanner, n *Node) (ok bool) { n.Name, ok = s.str(); return }},
	{"type", func(s *scanner, n *Node) (ok bool) { n.Type, ok = s.str(); return }},
	{"mode", func(s *scanner, n *Node) bool { v, ok := s.uint(32); n.Mode = uint32(v); return ok }},
	{"uid", func(s *scanner, n *Node) bool { v, ok := s.uint(32); n.UID = uint32(v); return ok }},
	{"gid", func(s *scanner, n *Node) bool { v, ok := s.uint(32); n.GID = uint32(v); return ok }},
	{"user", func(s *scanner, n *Node) (ok bool) { n.User, ok = s.str(); return }},
	{"group", func(s *scanner, n *Node) (ok bool) { n.Group, ok = s.str(); return }},
	{"mtime", func(s *scanner, n *Node) (ok bool) { n.ModTime, ok = s.time(); return }},
	{"ctime", func(s *scanner, n *Node) (ok bool) { n.ChangeTime, ok = s.time(); return }},
	{"atime", func(s *scanner, n *Node) (ok bool) { n.AccessTime, ok = s.time(); return }},
	{"size", func(s *scanner, n *Node) (ok bool) { n.Size, ok = s.uint(64); return }},
	{"inode", func(s *scanner, n *Node) (ok bool) { n.Inode, ok = s.uint(64); return }},
	{"device_id", func(s *scanner, n *Node) (ok bool) { n.DeviceID, ok = s.uint(64); return }},
	{"links", func(s *scanner, n *Node) (ok bool) { n.Links, ok = s.uint(64); return }},
	{"rdev", func(s *scanner, n *Node) (ok bool) { n.Rdev, ok = s.uint(64); return }},
	{"linktarget", func(s *scanner, n *Node) (ok bool) { n.LinkTarget, ok = s.str(); return }},
	{"xattrs", func(s *scanner, n *Node) (ok bool) { n.Xattrs, ok = s.xattrs(); return }},
	{"content", func(s *scanner, n *Node) (ok bool) { n.Content, ok = s.content(); return }},
	{"subtree", func(s *scanner, n *Node) bool {
		if s.null() {
			n.Subtree = nil
			return true
		}
		id, ok := s.id()
		if ok {
			n.Subtree = &id
		}
		return ok
	}},
	{"error", func(s *scanner, n *Node) (ok bool) { n.Error, ok = s.str(); return }},
	{"name_raw", func(s *scanner, n *Node) (ok bool) { n.NameRaw, ok = s.bytes(); return }},
	{"linktarget_raw", func(s *scanner, n *Node) (ok bool) { n.LinkTargetRaw, ok = s.bytes(); return }},
}

// nodeFieldIndex returns the index of key in nodeFields, or -1. The
// search starts at from, the index after the previous key's, since Encode
// writes keys in field order.
func nodeFieldIndex(key []byte, from int) int {
	for i := range nodeFields {
		j := (from + i) % len(nodeFields)
		if nodeFields[j].key == string(key) {
			return j
		}
	}
	return -1
}

// node reads one node. A repeated key declines: encoding/json would merge
// the values into what it decoded first.
func (s *scanner) node(n *Node) bool {
	var seen uint32
	next := 0
	return s.object(func(key []byte) bool {
		k := nodeFieldIndex(key, next)
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		next = k + 1
		return nodeFields[k].read(s, n)
	})
}

// pair reads an object whose keys are among k1 and k2, each at most once
// (a repeated key declines, as in node).
func (s *scanner) pair(k1, k2 string, read1, read2 func() bool) bool {
	var seen1, seen2 bool
	return s.object(func(key []byte) bool {
		switch {
		case string(key) == k1 && !seen1:
			seen1 = true
			return read1()
		case string(key) == k2 && !seen2:
			seen2 = true
			return read2()
		}
		return false
	})
}

func (s *scanner) content() ([]Chunk, bool) {
	out := []Chunk{}
	_, ok := s.array(func() bool {
		var c Chunk
		ok := s.pair("id", "size",
			func() (ok bool) { c.ID, ok = s.id(); return },
			func() (ok bool) { c.Size, ok = s.uint(64); return })
		out = append(out, c)
		return ok
	})
	return out, ok
}

func (s *scanner) xattrs() ([]Xattr, bool) {
	out := []Xattr{}
	_, ok := s.array(func() bool {
		var x Xattr
		ok := s.pair("name", "value",
			func() (ok bool) { x.Name, ok = s.str(); return },
			func() (ok bool) { x.Value, ok = s.bytes(); return })
		out = append(out, x)
		return ok
	})
	return out, ok
}
