package test

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"

	"cairn/repo/backend"
)

// testConcurrentDistinct saves and loads many files from several goroutines.
func testConcurrentDistinct(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	const writers, perWriter = 8, 8
	type file struct {
		h    backend.Handle
		data []byte
	}
	files := make([][]file, writers)
	for w := range files {
		for i := 0; i < perWriter; i++ {
			files[w] = append(files[w], file{
				h:    backend.Handle{Type: backend.PackFile, Name: randomName(r)},
				data: randomData(r, r.IntN(100<<10)),
			})
		}
	}
	var wg sync.WaitGroup
	for w := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range files[w] {
				if err := be.Save(ctx, f.h, f.data); err != nil {
					t.Errorf("Save(%v): %v", f.h, err)
					return
				}
			}
			for _, f := range files[w] {
				got, _, err := load(ctx, be, f.h, 0, 0)
				if err != nil {
					t.Errorf("Load(%v): %v", f.h, err)
					return
				}
				equal(t, "Load "+f.h.String(), got, f.data)
			}
		}()
	}
	wg.Wait()
	want := map[string]int64{}
	for _, fs := range files {
		for _, f := range fs {
			want[f.h.Name] = int64(len(f.data))
		}
	}
	sameSet(t, "List", list(t, be, backend.PackFile), want)
}

// testConcurrentSameName races writers of one name against readers: every
// read must return one complete version (atomic replace), and the final
// file is one of the versions written.
func testConcurrentSameName(t *testing.T, be backend.Backend) {
	r := rng(t)
	ctx := context.Background()
	const writers, rounds, readers = 6, 3, 3
	h := backend.Handle{Type: backend.IndexFile, Name: randomName(r)}
	versions := map[[sha256.Size]byte]bool{}
	payloads := make([][][]byte, writers)
	for w := range payloads {
		for k := 0; k < rounds; k++ {
			p := randomData(r, 1000+w*50000+k*7)
			payloads[w] = append(payloads[w], p)
			versions[sha256.Sum256(p)] = true
		}
	}
	initial := randomData(r, 4321)
	versions[sha256.Sum256(initial)] = true
	save(t, be, h, initial)

	var done atomic.Bool
	var reads atomic.Int64
	var rwg, wwg sync.WaitGroup
	for i := 0; i < readers; i++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for !done.Load() {
				got, _, err := load(ctx, be, h, 0, 0)
				if err != nil {
					t.Errorf("Load during concurrent saves: %v", err)
					return
				}
				if !versions[sha256.Sum256(got)] {
					t.Errorf("Load during concurrent saves returned %d bytes matching no saved version", len(got))
					return
				}
				reads.Add(1)
			}
		}()
	}
	for w := range payloads {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for _, p := range payloads[w] {
				if err := be.Save(ctx, h, p); err != nil {
					t.Errorf("concurrent Save: %v", err)
					return
				}
			}
		}()
	}
	wwg.Wait()
	done.Store(true)
	rwg.Wait()
	final := loadAll(t, be, h)
	if !versions[sha256.Sum256(final)] || sha256.Sum256(final) == sha256.Sum256(initial) {
		t.Errorf("final file (%d bytes) is not one of the versions written concurrently", len(final))
	}
	got := list(t, be, backend.IndexFile)
	sameSet(t, "List", got, map[string]int64{h.Name: int64(len(final))})
	t.Logf("%d complete reads during %d concurrent saves", reads.Load(), writers*rounds)
}
