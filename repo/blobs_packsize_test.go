package repo

import (
	"context"
	"math/rand/v2"
	"testing"

	"cairn/index"
	"cairn/pack"
)

// TestPacksStayWithinPackSize: a blob that would take a pack past the pack
// size starts the next pack (the arena, made for the pack size, is never
// outgrown and copied); a blob larger than the pack size gets a pack of
// its own; nothing is lost either way.
func TestPacksStayWithinPackSize(t *testing.T) {
	r, _, _ := testRepo(t) // 1 MiB packs
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	saved := 0
	for i := range 60 {
		size := 50<<10 + rng.IntN(300<<10)
		if i == 30 {
			size = 3 << 20 // larger than a pack
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32()) // incompressible
		}
		if _, err := r.SaveBlob(ctx, pack.DataBlob, data); err != nil {
			t.Fatal(err)
		}
		saved++
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, oversized := 0, 0
	err := r.ForEachIndexedPack(ctx, func(p index.PackInfo) error {
		size := pack.HeaderSize
		for _, b := range p.Blobs {
			size += int(b.Length)
		}
		blobs += len(p.Blobs)
		if size > r.cfg.PackSize {
			oversized++
			if len(p.Blobs) != 1 {
				t.Errorf("pack %s holds %d bytes of blobs in %d blobs, over the pack size %d", p.ID.Short(), size, len(p.Blobs), r.cfg.PackSize)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if blobs != saved || oversized != 1 {
		t.Fatalf("%d blobs indexed of %d saved, %d packs over the pack size (want only the 3 MiB blob's)", blobs, saved, oversized)
	}
}
