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

// literal returns the next string literal, quotes included, and whether
// it is plain: printable ASCII without escapes, its content taken as is.
func (s *scanner) literal() (lit []byte, plain bool, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i
	plain = true
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:s.i], plain, true
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c < 0x20 || c >= 0x80:
			plain = false
		}
	}
	return nil, false, false
}

// key reads an object key and the colon after it. Keys are compared
// exactly: encoding/json would also match other cases, so those decline.
func (s *scanner) key() ([]byte, bool) {
	lit, plain, ok := s.literal()
	if !ok || !plain || !s.lit(':') {
		return nil, false
	}
	return lit[1 : len(lit)-1], true
}

// str reads a string value.
func (s *scanner) str() (string, bool) {
	lit, plain, ok := s.literal()
	if !ok {
		return "", false
	}
	if plain {
		return string(lit[1 : len(lit)-1]), true
	}
	// Escapes, control bytes or non-ASCII: encoding/json's own rules
	// (it replaces invalid UTF-8 with U+FFFD).
	if !hasEscape(lit) && utf8.Valid(lit) && !hasControl(lit) {
		return string(lit[1 : len(lit)-1]), true
	}
	var v string
	if err := json.Unmarshal(lit, &v); err != nil {
		return "", false
	}
	return v, true
}

func hasEscape(lit []byte) bool {
	for _, c := range lit {
		if c == '\\' {
			return true
		}
	}
	return false
}

func hasControl(lit []byte) bool {
	for _, c := range lit {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// bytes reads a base64 string as encoding/json decodes []byte (a null
// leaves nil).
func (s *scanner) bytes() ([]byte, bool) {
	if s.null() {
		return nil, true
	}
	lit, plain, ok := s.literal()
	if !ok || !plain {
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

// nodeKeys are the keys of a node object, in Node's field order.
var nodeKeys = [...]string{"name", "type", "mode", "uid", "gid", "user", "group", "mtime",
	"ctime", "atime", "size", "inode", "device_id", "links", "rdev", "linktarget", "xattrs",
	"content", "subtree", "error", "name_raw", "linktarget_raw"}

// keyIndex returns the index of key in keys, or -1. Encode writes keys in
// field order, so the search starts at from, the index after the previous
// key's.
func keyIndex(keys []string, key []byte, from int) int {
	for i := range keys {
		j := (from + i) % len(keys)
		if keys[j] == string(key) {
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
		k := keyIndex(nodeKeys[:], key, next)
		next = k + 1
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		var ok bool
		var v uint64
		switch nodeKeys[k] {
		case "name":
			n.Name, ok = s.str()
		case "type":
			n.Type, ok = s.str()
		case "mode":
			v, ok = s.uint(32)
			n.Mode = uint32(v)
		case "uid":
			v, ok = s.uint(32)
			n.UID = uint32(v)
		case "gid":
			v, ok = s.uint(32)
			n.GID = uint32(v)
		case "user":
			n.User, ok = s.str()
		case "group":
			n.Group, ok = s.str()
		case "mtime":
			n.ModTime, ok = s.time()
		case "ctime":
			n.ChangeTime, ok = s.time()
		case "atime":
			n.AccessTime, ok = s.time()
		case "size":
			n.Size, ok = s.uint(64)
		case "inode":
			n.Inode, ok = s.uint(64)
		case "device_id":
			n.DeviceID, ok = s.uint(64)
		case "links":
			n.Links, ok = s.uint(64)
		case "rdev":
			n.Rdev, ok = s.uint(64)
		case "linktarget":
			n.LinkTarget, ok = s.str()
		case "error":
			n.Error, ok = s.str()
		case "name_raw":
			n.NameRaw, ok = s.bytes()
		case "linktarget_raw":
			n.LinkTargetRaw, ok = s.bytes()
		case "subtree":
			if s.null() {
				n.Subtree, ok = nil, true
			} else {
				var id crypto.ID
				if id, ok = s.id(); ok {
					n.Subtree = &id
				}
			}
		case "content":
			n.Content, ok = s.content()
		case "xattrs":
			n.Xattrs, ok = s.xattrs()
		}
		return ok
	})
}

func (s *scanner) content() ([]Chunk, bool) {
	out := []Chunk{}
	_, ok := s.array(func() bool {
		var c Chunk
		var seenID, seenSize bool
		ok := s.object(func(key []byte) bool {
			var ok bool
			switch {
			case string(key) == "id" && !seenID:
				seenID = true
				c.ID, ok = s.id()
			case string(key) == "size" && !seenSize:
				seenSize = true
				c.Size, ok = s.uint(64)
			}
			return ok
		})
		out = append(out, c)
		return ok
	})
	return out, ok
}

func (s *scanner) xattrs() ([]Xattr, bool) {
	out := []Xattr{}
	_, ok := s.array(func() bool {
		var x Xattr
		var seenName, seenValue bool
		ok := s.object(func(key []byte) bool {
			var ok bool
			switch {
			case string(key) == "name" && !seenName:
				seenName = true
				x.Name, ok = s.str()
			case string(key) == "value" && !seenValue:
				seenValue = true
				x.Value, ok = s.bytes()
			}
			return ok
		})
		out = append(out, x)
		return ok
	})
	return out, ok
}
