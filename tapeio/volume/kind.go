package volume

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Kind is what a tape file holds. Values are part of the format.
type Kind uint8

// Kinds of tape files. The first three are written by the format itself.
const (
	KindLabel       Kind = 1  // the volume label, tape file 0
	KindEndOfVolume Kind = 2  // trailer: the set continues on the next volume
	KindEndOfSet    Kind = 3  // trailer: the set ends here
	KindConfig      Kind = 16 // the repository config file
	KindKeys        Kind = 17 // key files
	KindSnapshot    Kind = 18 // snapshot files
	KindIndex       Kind = 19 // index files
	KindPack        Kind = 20 // a pack file
	KindCatalog     Kind = 21 // the export set's catalog
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindLabel:
		return "label"
	case KindEndOfVolume:
		return "end-of-volume"
	case KindEndOfSet:
		return "end-of-set"
	case KindConfig:
		return "config"
	case KindKeys:
		return "keys"
	case KindSnapshot:
		return "snapshot"
	case KindIndex:
		return "index"
	case KindPack:
		return "pack"
	case KindCatalog:
		return "catalog"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// isData reports whether the kind may be written with Writer.WriteFile.
func (k Kind) isData() bool { return k >= KindConfig && k <= KindCatalog }

// ID is a 16-byte random identifier of a volume or a set.
type ID [16]byte

// NewID returns a random ID.
func NewID() ID {
	var id ID
	_, _ = rand.Read(id[:]) // cannot fail since Go 1.24
	return id
}

// ParseID parses an id formatted by String (32 hex digits).
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("volume: %q is not a 32-digit hex id", s)
	}
	copy(id[:], b)
	return id, nil
}

// String returns the ID in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText implements encoding.TextMarshaler: JSON shows the hex form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
