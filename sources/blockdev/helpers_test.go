package blockdev

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"cairn/chunker"
	"cairn/repo"
	"cairn/repo/backend/mem"
)

// newTestRepo returns a real repository on the in-memory backend.
func newTestRepo(t *testing.T) *repo.Repository {
	t.Helper()
	opts := repo.Options{CacheDir: t.TempDir(), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}}
	// A fixed polynomial (restic's default, irreducible) makes chunk
	// boundaries, and so the bounds the tests assert, reproducible.
	p := chunker.Params{Polynomial: 0x3DA3358B4DC173, MinSize: chunker.DefaultMinSize,
		AverageBits: chunker.DefaultAverageBits, MaxSize: chunker.DefaultMaxSize}
	r, err := repo.Init(context.Background(), mem.New(), "secret",
		repo.InitOptions{Options: opts, PackSize: 4 << 20, Chunker: &p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// randBytes returns n pseudo-random bytes from seed.
func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// writeAt writes data at off of the file path, creating it.
func writeAt(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

// sequentialChunks returns the sizes of the plain sequential chunking.
func sequentialChunks(t *testing.T, data []byte, p chunker.Params) []uint64 {
	t.Helper()
	c := chunker.New(bytes.NewReader(data), p)
	var out []uint64
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, uint64(len(ch.Data)))
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tempPath(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

func flush(t *testing.T, r *repo.Repository) {
	t.Helper()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}
