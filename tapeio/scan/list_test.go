package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"cairn/tapeio/emulator"
	"cairn/tapeio/export"
	"cairn/tapeio/volume"
)

// writeSpanningSet writes a set of one pack-sized file of n random bytes
// and a catalog to tiny volumes, and returns where the catalog went.
func writeSpanningSet(t *testing.T, dir string, n int, cat []byte) volume.FileInfo {
	t.Helper()
	ctx := context.Background()
	ch, err := emulator.NewDirChanger(dir, 8, emulator.Options{Capacity: 96 << 10, EarlyWarning: 12 << 10})
	if err != nil {
		t.Fatal(err)
	}
	m, err := export.NewChangerMedia(ch)
	if err != nil {
		t.Fatal(err)
	}
	chooser := &export.Chooser{Media: m}
	w, err := volume.NewWriter(ctx, volume.WriterOptions{NextVolume: chooser.NextVolume, BlockSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, n)
	chacha := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)})
	chacha.Read(data)
	if _, err := w.WriteFile(ctx, volume.KindPack, "data/x", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	info, err := w.WriteFile(ctx, volume.KindCatalog, export.NameCatalog, bytes.NewReader(cat))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestListSpanningCatalog: a catalog that begins on one volume and ends on
// the next is put together by List and shown on the volume ending the set.
func TestListSpanningCatalog(t *testing.T) {
	want := &export.SetCatalog{Version: export.CatalogVersion, SetID: "s", RepoID: "r"}
	for i := range 400 {
		want.Files = append(want.Files, export.CatalogFile{SetFile: uint32(i), Kind: "pack", Name: fmt.Sprintf("data/%064d", i), Size: int64(i)})
	}
	cat, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	// Grow the file before the catalog until the end of the first volume
	// falls inside the catalog.
	for n := 0; n < 96<<10; n += 3000 {
		dir := filepath.Join(t.TempDir(), "lib")
		info := writeSpanningSet(t, dir, n, cat)
		if len(info.Extents) < 2 {
			continue
		}
		t.Logf("pack of %d bytes: catalog of %d bytes in %d extents %+v", n, len(cat), len(info.Extents), info.Extents)
		ch, err := emulator.NewDirChanger(dir, 8, emulator.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := export.NewChangerMedia(ch)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		rep, err := List(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		var found []uint32
		for _, v := range rep.Volumes {
			if v.Catalog != nil {
				found = append(found, v.Label.Seq)
				if len(v.Catalog.Files) != len(want.Files) || v.Catalog.Files[399].Name != want.Files[399].Name {
					t.Errorf("catalog on volume %d has %d files", v.Label.Seq, len(v.Catalog.Files))
				}
			}
		}
		last := info.Extents[len(info.Extents)-1].VolumeSeq
		if len(found) != 1 || found[0] != last {
			t.Fatalf("catalog listed on volumes %v, want on %d only (volumes %d)", found, last, len(rep.Volumes))
		}
		return
	}
	t.Fatal("no pack size made the catalog span two volumes")
}
