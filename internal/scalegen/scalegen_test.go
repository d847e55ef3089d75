package scalegen

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// TestGenerate builds a small synthetic repository always, and a large one
// when CAIRN_SCALE_BLOBS and CAIRN_SCALE_DIR are set (scripts/scale.sh).
func TestGenerate(t *testing.T) {
	blobs, dir := 20000, t.TempDir()+"/repo"
	if s := os.Getenv("CAIRN_SCALE_BLOBS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		blobs, dir = n, os.Getenv("CAIRN_SCALE_DIR")
	}
	used, err := Generate(context.Background(), Options{Dir: dir, CacheDir: dir + "-cache", Password: "scale", Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	if used != blobs/100 {
		t.Fatalf("referenced %d blobs, want %d", used, blobs/100)
	}
}
