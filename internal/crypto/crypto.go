// Package crypto holds the primitives every layer of the repository shares:
// identifiers, the master key, keyed BLAKE3 blob ids, key derivation and
// AES-256-GCM sealing. It is a leaf: it imports nothing of cairn.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
)

// IDSize is the length of an ID in bytes.
const IDSize = 32

// ID names a blob, pack, index, snapshot or key file: a BLAKE3-256 hash.
type ID [IDSize]byte

// String returns the id as 64 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, as shown to users.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsNull reports whether the id is all zeros (no id).
func (id ID) IsNull() bool { return id == ID{} }

// MarshalJSON encodes the id as a hex string.
func (id ID) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 2+2*IDSize)
	buf[0] = '"'
	hex.Encode(buf[1:], id[:])
	buf[len(buf)-1] = '"'
	return buf, nil
}

// UnmarshalJSON decodes a hex string id.
func (id *ID) UnmarshalJSON(b []byte) error {
	// Fast path: ids are plain quoted hex, decoded in place (trees hold
	// one per chunk, and decoding them dominated tree loading).
	if len(b) == 2+2*IDSize && b[0] == '"' && b[len(b)-1] == '"' {
		if _, err := hex.Decode(id[:], b[1:len(b)-1]); err == nil {
			return nil
		}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decode id: %w", err)
	}
	v, err := ParseID(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("invalid id %q: want %d hex digits", s, 2*IDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid id %q: %w", s, err)
	}
	return id, nil
}

// Hash returns the unkeyed BLAKE3-256 of data: used for pack, index and
// snapshot file names, so that a file's name is a checksum of its bytes.
func Hash(data []byte) ID { return ID(blake3.Sum256(data)) }

// Key is the repository master key: an encryption key from which per-file
// keys are derived, and an id key that makes blob ids keyed hashes.
type Key struct {
	Enc [32]byte `json:"enc"`
	ID  [32]byte `json:"id"`
}

// NewRandomKey returns a fresh master key from the system's CSPRNG.
func NewRandomKey() (*Key, error) {
	k := &Key{}
	if _, err := rand.Read(k.Enc[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if _, err := rand.Read(k.ID[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// BlobID returns the keyed BLAKE3-256 of a blob's plaintext.
func (k *Key) BlobID(plaintext []byte) ID {
	h, err := blake3.NewKeyed(k.ID[:])
	if err != nil {
		panic(err) // key length is fixed at 32: cannot happen
	}
	_, _ = h.Write(plaintext)
	var id ID
	h.Sum(id[:0])
	return id
}

// NewBlobHasher returns a keyed BLAKE3 hasher for streaming use; its Sum is
// the same as BlobID over the bytes written.
func (k *Key) NewBlobHasher() *blake3.Hasher {
	h, err := blake3.NewKeyed(k.ID[:])
	if err != nil {
		panic(err) // key length is fixed at 32: cannot happen
	}
	return h
}

// DeriveKey derives a 32-byte subkey for a purpose (the context string, which
// must be unique per use) from the master encryption key and extra material
// such as a pack salt.
func (k *Key) DeriveKey(context string, material []byte) [32]byte {
	in := make([]byte, 0, 32+len(material))
	in = append(in, k.Enc[:]...)
	in = append(in, material...)
	var out [32]byte
	blake3.DeriveKey(context, in, out[:])
	return out
}

// ErrAuth is returned when an AEAD tag does not verify: the data was
// modified, truncated, or sealed with another key.
var ErrAuth = errors.New("ciphertext verification failed (wrong key or damaged data)")

// NonceSize and Overhead describe the sealed format nonce || ciphertext || tag.
const (
	NonceSize = 12
	TagSize   = 16
	Overhead  = NonceSize + TagSize
)

// AEAD seals and opens with AES-256-GCM and random nonces. Safe for
// concurrent use.
type AEAD struct{ gcm cipher.AEAD }

// NewAEAD returns an AEAD for a 32-byte key.
func NewAEAD(key [32]byte) *AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // key length is fixed at 32: cannot happen
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &AEAD{gcm: gcm}
}

// Seal appends nonce || ciphertext || tag of plaintext to dst, authenticating
// additional as well.
func (a *AEAD) Seal(dst, plaintext, additional []byte) []byte {
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic(fmt.Errorf("read random nonce: %w", err)) // the OS CSPRNG never fails on Linux
	}
	dst = append(dst, nonce[:]...)
	return a.gcm.Seal(dst, nonce[:], plaintext, additional)
}

// Open verifies and decrypts sealed (nonce || ciphertext || tag), appending
// the plaintext to dst. It returns ErrAuth when the tag does not verify.
func (a *AEAD) Open(dst, sealed, additional []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("sealed data too short (%d bytes): %w", len(sealed), ErrAuth)
	}
	out, err := a.gcm.Open(dst, sealed[:NonceSize], sealed[NonceSize:], additional)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// FileAEAD returns the AEAD that seals repository metadata files (config,
// index, snapshots, locks) under the master key.
func (k *Key) FileAEAD() *AEAD {
	return NewAEAD(k.DeriveKey("cairn 2026-11 metadata file key v1", nil))
}
