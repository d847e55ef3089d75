// Package scalegen builds synthetic repositories with millions of indexed
// blobs for the scale measurements of prune, check and backup
// (scripts/scale.sh): the index is real, the packs are sparse placeholder
// files of the indexed size, and one real snapshot references a share of
// the blobs through real tree blobs.
package scalegen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"cairn/index"
	"cairn/internal/crypto"
	"cairn/pack"
	"cairn/repo"
	"cairn/repo/backend/local"
	"cairn/repo/tree"
)

// Options size the synthetic repository.
type Options struct {
	Dir          string // repository directory (created)
	CacheDir     string
	Password     string
	Blobs        int // indexed data blobs
	BlobsPerPack int // default 100
	// UsedEvery makes every n-th blob referenced by the snapshot (default 100).
	UsedEvery int
}

// Generate builds the repository and returns the number of referenced blobs.
func Generate(ctx context.Context, o Options) (int, error) {
	if o.BlobsPerPack <= 0 {
		o.BlobsPerPack = 100
	}
	if o.UsedEvery <= 0 {
		o.UsedEvery = 100
	}
	be, err := local.Create(o.Dir)
	if err != nil {
		return 0, err
	}
	r, err := repo.Init(ctx, be, o.Password, repo.InitOptions{Options: repo.Options{CacheDir: o.CacheDir}})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var used []tree.Chunk
	const blobLen = 600 << 10
	f := &index.File{}
	n := 0
	for n < o.Blobs {
		pi := index.PackInfo{ID: randomID(), Size: int64(o.BlobsPerPack)*(blobLen+pack.BlobOverhead) + 1024}
		rand.Read(pi.Salt[:])
		off := uint32(pack.HeaderSize)
		for j := 0; j < o.BlobsPerPack && n < o.Blobs; j++ {
			id := randomID()
			pi.Blobs = append(pi.Blobs, pack.Blob{Type: pack.DataBlob, ID: id, Offset: off, Length: blobLen + pack.BlobOverhead, RawLength: blobLen})
			off += blobLen + pack.BlobOverhead
			if n%o.UsedEvery == 0 {
				used = append(used, tree.Chunk{ID: id, Size: blobLen})
			}
			n++
		}
		p := filepath.Join(o.Dir, "data", pi.ID.String()[:2], pi.ID.String())
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			return 0, err
		}
		if err := os.Truncate(p, pi.Size); err != nil { // sparse placeholder
			return 0, err
		}
		f.Packs = append(f.Packs, pi)
		if len(f.Packs) == 2000 {
			if err := r.SaveIndex(ctx, f); err != nil {
				return 0, err
			}
			f = &index.File{}
		}
	}
	if len(f.Packs) > 0 {
		if err := r.SaveIndex(ctx, f); err != nil {
			return 0, err
		}
	}
	// One directory of files of 10,000 chunks each references the used blobs.
	root := &tree.Tree{}
	for i := 0; i < len(used); i += 10000 {
		c := used[i:min(i+10000, len(used))]
		root.Nodes = append(root.Nodes, &tree.Node{Name: fmt.Sprintf("file%07d", i), Type: tree.TypeFile, Mode: 0o644, Size: uint64(len(c)) * blobLen, Content: c})
	}
	rid, err := r.SaveTree(ctx, root)
	if err != nil {
		return 0, err
	}
	if err := r.Flush(ctx); err != nil {
		return 0, err
	}
	sn := repo.NewSnapshot(r.Now(), repo.KindFS, []string{"/synthetic"})
	sn.Tree = rid
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		return 0, err
	}
	return len(used), nil
}

func randomID() crypto.ID {
	var id crypto.ID
	rand.Read(id[:])
	binary.BigEndian.PutUint16(id[30:], 0xca1e) // recognisable in dumps
	return id
}
