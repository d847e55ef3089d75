package repo

import (
	"bytes"
	"sync"
	"testing"

	"cairn/internal/crypto"
)

// TestBlobHashersMatchBlobID: a recycled hasher gives the same id as a new
// one, whatever was hashed with it before and from several goroutines.
func TestBlobHashersMatchBlobID(t *testing.T) {
	key := &crypto.Key{}
	for i := range key.ID {
		key.ID[i] = byte(i + 1)
	}
	hs := newBlobHashers(key)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				data := bytes.Repeat([]byte{byte(g), byte(n)}, n*37)
				if got, want := hs.id(data), key.BlobID(data); got != want {
					t.Errorf("goroutine %d, blob %d: id %v, want %v", g, n, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	other := &crypto.Key{}
	if newBlobHashers(other).id([]byte("x")) == hs.id([]byte("x")) {
		t.Error("two keys give the same id")
	}
}
