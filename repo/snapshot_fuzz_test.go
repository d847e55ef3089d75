package repo

import (
	"testing"
	"time"

	"cairn/internal/crypto"
)

func FuzzDecodeSnapshot(f *testing.F) {
	var key [32]byte
	aead := crypto.NewAEAD(key)
	sn := NewSnapshot(time.Unix(0, 0), KindFS, []string{"/a"})
	sn.Tree = crypto.Hash([]byte("t"))
	plain := []byte(`{"time":"2026-01-01T00:00:00Z","host":"h","paths":["/a"],"kind":"fs","tree":"` + sn.Tree.String() + `"}`)
	f.Add(plain)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		// Sealing the fuzzed plaintext reaches the JSON decoder; raw
		// garbage must fail authentication.
		if _, err := DecodeSnapshot(aead, plain); err == nil {
			t.Fatalf("unsealed data decoded")
		}
		sealed := aead.Seal(nil, plain, []byte(snapshotAD))
		got, err := DecodeSnapshot(aead, sealed)
		if err == nil && got.Tree.IsNull() {
			t.Fatalf("snapshot without tree accepted")
		}
	})
}
